"""EUC extraction (jyuki-stnd j1360): saved definitions, masked extraction to CSV / Excel / Parquet, audit."""
from kikan_hub.modules.euc.definition import (EucError, ExtractionDefinition, get_definition, list_definitions,
                                              load_definition_file, parse_definition, save_definition)
from kikan_hub.modules.euc.extract import (ExtractionResult, audit_log, fold_cp932, get_audit, iter_rows,
                                           run_extraction)
from kikan_hub.validation.masking import MaskingError, load_policy

__all__ = ["EucError", "ExtractionDefinition", "ExtractionResult", "MaskingError", "audit_log", "fold_cp932",
           "get_audit", "get_definition", "iter_rows", "list_definitions", "load_definition_file", "load_policy",
           "parse_definition", "run_extraction", "save_definition"]
