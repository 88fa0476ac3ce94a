"""Fuzzing whole rehearsals and the SOAP request parser.

- A small generated extract, its bytes mutated at random (and sometimes truncated), is
  rehearsed into SQLite: it never crashes, every record read is loaded or quarantined
  (per file and record type), each quarantined record's raw bytes equal the source bytes at
  its offset, and the store holds exactly the loaded data rows.
- The SOAP endpoint's request handling (kikan_hub/api/soap/service.py SoapService.handle) gets
  random bytes and mutated envelopes: always an HTTP status and a SOAP envelope back, never
  an exception, never an internal error for malformed input.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import given, strategies as st

from fuzz_settings import fuzz

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def small_extract(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fuzz_extract") / "x"
    subprocess.run([sys.executable, "-m", "kikan_hub.api.cli", "sample", "--residents", "40", "--out", str(out),
                    "--seed", "3"], cwd=PROJECT, check=True, capture_output=True, env={**os.environ, "KIKAN_FAULT_AT": ""})
    return out


@fuzz(4, per_example_cost=20)
@given(muts=st.lists(st.tuples(st.sampled_from(["JUMIN.DAT", "SETAI.DAT"]), st.integers(0, 10 ** 6),
                               st.integers(0, 255)), max_size=40),
       cut=st.one_of(st.none(), st.tuples(st.sampled_from(["JUMIN.DAT", "SETAI.DAT"]), st.integers(1, 900))))
def test_rehearsal_of_mutated_extract(small_extract, tmp_path_factory, muts, cut):
    from kikan_hub.pipeline.manifest import load_manifest
    from kikan_hub.pipeline.rehearsal import rehearse
    from kikan_hub.store.engine import open_engine

    work = tmp_path_factory.mktemp("fz")
    ex = work / "x"
    shutil.copytree(small_extract, ex)
    for name in ("JUMIN.DAT", "SETAI.DAT"):
        data = bytearray((ex / name).read_bytes())
        for fname, pos, val in muts:
            if fname == name:
                data[pos % len(data)] = val
        if cut and cut[0] == name:
            data = data[:max(0, len(data) - cut[1])]
        (ex / name).write_bytes(bytes(data))
    url = f"sqlite:///{work / 'kikan.db'}"
    result = rehearse(load_manifest(ex / "manifest.yaml", check_encoding=False), url, work / "run")
    s = result.summary
    assert s["records_read"] == s["records_staged"] + s["records_quarantined"]
    assert s["records_loaded"] == (s["records_staged"] if s["status"] == "loaded" else 0)
    for fid, rts in s["files"].items():
        for rt, c in rts.items():
            assert c["read"] == c["staged"] + c["quarantined"], (fid, rt)
            assert c["loaded"] == (c["staged"] if s["status"] == "loaded" else 0), (fid, rt)
    n_q = 0
    for p in (work / "run" / "quarantine").glob("*.parquet"):
        for r in pq.read_table(p).to_pylist():
            src = (ex / Path(r["source_file"]).name).read_bytes()
            assert src[r["offset"]:r["offset"] + len(r["raw"])] == r["raw"], r
            assert r["rule_ids"]
            n_q += 1
    assert n_q == s["records_quarantined"]
    if result.exit_code == 0:
        loaded_data = sum(c["loaded"] for f in s["files"].values() for rt, c in f.items()
                          if rt in ("resident", "household"))
        with open_engine(url).connect() as c:
            in_store = sum(c.execute(sa.text(f"select count(*) from {t}")).scalar() for t in ("juki_jumin", "juki_setai"))
        assert in_store == loaded_data


# --------------------------------------------------------------------------- SOAP request parsing

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
PNS = "urn:kikan-hub:platform:v1"


def _env(payload: str, header: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP11}" xmlns:p="{PNS}">'
            f'<soap:Header>{header}</soap:Header><soap:Body>{payload}</soap:Body></soap:Envelope>').encode()


SEEDS = [
    _env("<p:JuminJohoShokaiRequest><p:AtenaNo>0000000019</p:AtenaNo></p:JuminJohoShokaiRequest>"),
    _env("<p:SetaiKoseiShokaiRequest><p:SetaiNo>0000000027</p:SetaiNo></p:SetaiKoseiShokaiRequest>"),
    _env("<p:IdouJohoShutokuRequest><p:From>2024-01-01</p:From></p:IdouJohoShutokuRequest>"),
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:1/evil.dtd"><x/>',
]


@pytest.fixture(scope="module")
def soap_service(tmp_path_factory):
    from kikan_hub.api.server import build_hub, prepare_store
    import secrets

    from kikan_hub.store.engine import open_engine
    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('soap') / 'kikan.db'}")
    prepare_store(engine)
    hub = build_hub(engine, secrets.token_bytes(32), linkage_dir=tmp_path_factory.mktemp("linkage"), max_body=64 * 1024)
    return hub.soap


def _check_response(status: int, body: bytes) -> str:
    from lxml import etree
    assert status in (200, 500)
    root = etree.fromstring(body)
    assert etree.QName(root).localname == "Envelope"
    code = root.find(f".//{{{SOAP11}}}Fault")
    return "" if code is None else etree.tostring(code, encoding="unicode")


@fuzz(300)
@given(body=st.one_of(st.binary(max_size=300),
                      st.tuples(st.sampled_from(SEEDS),
                                st.lists(st.tuples(st.integers(0, 10 ** 4), st.integers(0, 255)), min_size=1,
                                         max_size=6)).map(lambda t: _mutate(*t)),
                      st.tuples(st.sampled_from(SEEDS), st.integers(0, 400)).map(lambda t: t[0][:t[1]])))
def test_soap_handle_never_crashes(soap_service, body):
    status, resp = soap_service.handle(body)
    fault = _check_response(status, resp)
    assert "SERVER-INTERNAL" not in fault, (body, fault)  # malformed input is the client's fault, not ours


def _mutate(seed: bytes, muts) -> bytes:
    data = bytearray(seed)
    for pos, val in muts:
        data[pos % len(data)] = val
    return bytes(data)
