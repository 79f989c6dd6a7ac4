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
