"""``zoo doctor`` reports the machine in a form a bug report can carry."""

import json

from tests.conftest import run_zoo


def test_doctor_reports_versions_device_cache_and_extras(tmp_path):
    env_home = tmp_path / "home"
    (env_home / "checkpoints" / "x").mkdir(parents=True)
    (env_home / "checkpoints" / "x" / "weights.bin").write_bytes(b"0" * 2048)
    import os

    result = run_zoo("doctor", "--json", env={**os.environ, "ZOO_HOME": str(env_home), "ZOO_OFFLINE": "1"})
    facts = json.loads(result.stdout)
    assert facts["libraries"]["torch"] and facts["python"]
    assert facts["device"]["default"] in ("cpu", "cuda", "mps")
    assert facts["cache"]["checkpoints"]["bytes"] == 2048 and facts["cache"]["checkpoints"]["files"] == 1
    assert facts["offline"] is True and facts["environment"]["ZOO_OFFLINE"] == "1"
    assert "plot" in facts["extras"] and facts["extras"]["test"]["missing"] == []
    text = run_zoo("doctor").stdout
    assert "optional extras" in text and "device:" in text


def test_doctor_says_offline_without_a_network_and_warns_when_oversubscribed(monkeypatch):
    import os
    import socket

    from zoo import doctor

    for name in ("ZOO_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)

    def no_dns(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # a machine without a network: names do not resolve
    monkeypatch.setattr(os, "getloadavg", lambda: (40.0, 30.0, 20.0))
    facts = doctor.report()
    assert facts["offline"] is True and facts["network"]["route"] is False
    text = doctor.format_report(facts)
    assert "offline          yes (no network: " in text
    assert "warning: load average 40.0 is above the" in text
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert "warning: load average" not in doctor.format_report(doctor.report())
