"""The CLI against the real server: tables by default, --json for scripts, errors on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anomalens import samples
from helpers.cli import cli
from helpers.server import ServerProcess

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "mpdd" / "metal_plate"


def test_projects_table_json_and_error_exit(server: ServerProcess) -> None:
    cli(server, "projects", "create", "cli-one")
    assert "cli-one" in cli(server, "projects", "list").stdout
    listed = json.loads(cli(server, "--json", "projects", "list").stdout)
    assert {"Project": "cli-one"}.items() <= next(p for p in listed if p["Project"] == "cli-one").items()
    bad = cli(server, "projects", "create", "no spaces allowed", ok=False)
    assert "ProjectName" in bad.stderr and "error" in bad.stderr


def test_cli_journey_on_generated_sample(server: ServerProcess, sample_folder: Path, tmp_path: Path) -> None:
    cli(server, "projects", "create", "cli-sample")
    out = cli(server, "datasets", "create", "cli-sample", "--type", "train", "--folder", str(sample_folder), "--wait")
    assert "CREATE_COMPLETE" in out.stdout
    not_a_number = cli(server, "models", "train", "cli-sample", "--option", "long_side=big", ok=False)
    assert "name=number" in not_a_number.stderr
    unknown = cli(server, "models", "train", "cli-sample", "--option", "longside=512", ok=False)
    assert "TrainingOptions" in unknown.stderr and "longside" in unknown.stderr
    model = json.loads(cli(server, "--json", "models", "train", "cli-sample", "--wait").stdout)
    assert model["Status"] == "TRAINED" and model["ModelVersion"] == "1"  # the refused trainings created nothing
    details = json.loads(cli(server, "--json", "models", "describe", "cli-sample", "1").stdout)["Details"]
    assert details["backbone"] == "efficientnet-lite0" and details["training_options"] == {}
    assert (
        "training normals, each scored by the model without it (the blend chosen on 5 folds)"
        in details["threshold_calibration"]
    )
    cli(server, "models", "start", "cli-sample", "1", "--wait")
    normal, defect = tmp_path / "n.png", tmp_path / "d.png"
    normal.write_bytes(samples.make_image(77))
    defect.write_bytes(samples.make_image(78, "stain"))
    results = json.loads(cli(server, "--json", "models", "detect", "cli-sample", "1", str(normal), str(defect)).stdout)
    assert [r["IsAnomalous"] for r in results] == [False, True]
    cli(server, "models", "stop", "cli-sample", "1", "--wait")
    manifest = tmp_path / "export.manifest"
    cli(server, "datasets", "export", "cli-sample", "train", "-o", str(manifest))
    assert len(manifest.read_text().splitlines()) == 56


@pytest.mark.skipif(not SHARED.exists(), reason=f"real data not found at {SHARED}; skipping the metal_plate journey")
def test_cli_journey_on_metal_plate(server: ServerProcess) -> None:
    cli(server, "projects", "create", "metal-plate")
    out = cli(server, "--json", "datasets", "import-mvtec", "metal-plate", str(SHARED), "--wait").stdout
    stats = {d["Dataset"]: d for d in json.loads(out)}
    assert stats["train"]["Images"] == 54 and stats["test"]["Anomaly"] == 71
    model = json.loads(cli(server, "--json", "models", "train", "metal-plate", "--wait").stdout)
    assert model["Status"] == "TRAINED", model
    assert model["Details"]["image_auroc"] >= 0.95
    assert model["Details"]["pixel_auroc"] >= 0.95  # masks imported the right way round
    assert model["Performance"]["F1Score"] >= 0.8
    described = cli(server, "models", "describe", "metal-plate", "1").stdout
    assert "EvaluationResult" in described
    cli(server, "models", "start", "metal-plate", "1", "--wait")
    good = sorted((SHARED / "test" / "good").iterdir())[0]
    bad = sorted((SHARED / "test" / "defect").iterdir())[0]
    results = json.loads(cli(server, "--json", "models", "detect", "metal-plate", "1", str(good), str(bad)).stdout)
    assert [r["IsAnomalous"] for r in results] == [False, True]
    cli(server, "models", "stop", "metal-plate", "1", "--wait")
    cli(server, "models", "delete", "metal-plate", "1")
    cli(server, "datasets", "delete", "metal-plate", "train")
    cli(server, "datasets", "delete", "metal-plate", "test")
    cli(server, "projects", "delete", "metal-plate")
