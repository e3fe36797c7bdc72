"""Bad requests against the real server: each gets a clear 4xx naming the field, and nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from anomalens.sdk import Client
from helpers.images import TEN_BYTES, png_header_claiming
from helpers.server import ServerProcess


def _error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"code", "message"}
    return dict(body)


@pytest.fixture
def api(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def test_invalid_and_duplicate_project_names(api: httpx.Client) -> None:
    body = _error(api.post("/v1/projects", json={"ProjectName": "bad name!"}), 400)
    assert body["field"] == "ProjectName" and "a-z" in body["message"]
    assert api.post("/v1/projects", json={"ProjectName": "dup"}).status_code == 200
    body = _error(api.post("/v1/projects", json={"ProjectName": "dup"}), 409)
    assert "already exists" in body["message"]
    assert _error(api.post("/v1/projects", json={}), 400)["field"] == "ProjectName"


def test_wrong_dataset_type_and_unknown_project(api: httpx.Client) -> None:
    api.post("/v1/projects", json={"ProjectName": "dtype"})
    body = _error(api.post("/v1/projects/dtype/datasets", json={"DatasetType": "validation"}), 400)
    assert body["field"] == "DatasetType"
    assert _error(api.get("/v1/projects/nope"), 404)["code"] == "not_found"


def test_manifest_with_one_broken_line_is_refused_naming_the_line(api: httpx.Client, tmp_path: Path) -> None:
    api.post("/v1/projects", json={"ProjectName": "broken-manifest"})
    good = {
        "source-ref": "a.png",
        "anomaly-label": 0,
        "anomaly-label-metadata": {
            "class-name": "normal",
            "type": "groundtruth/image-classification",
            "human-annotated": "yes",
        },
    }
    path = tmp_path / "train.manifest"
    path.write_text(json.dumps(good) + "\n" + '{"source-ref": "b.png", "anomaly-label": \n')
    body = _error(
        api.post(
            "/v1/projects/broken-manifest/datasets",
            json={"DatasetType": "train", "Source": {"Layout": "manifest", "Location": str(path)}},
        ),
        400,
    )
    assert "manifest line 2" in body["message"] and body["field"] == "manifest[2]"
    desc = api.get("/v1/projects/broken-manifest").json()["ProjectDescription"]
    assert desc["Datasets"] == []  # nothing half-created


def test_bad_files_in_an_import_are_reported_per_file(client: Client, sample_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    for sub in ("normal", "anomaly"):
        (folder / sub).mkdir(parents=True)
        for src in sorted((sample_folder / sub).iterdir())[:3]:
            (folder / sub / src.name).write_bytes(src.read_bytes())
    (folder / "normal" / "tiny.png").write_bytes(TEN_BYTES)
    (folder / "normal" / "bomb.png").write_bytes(png_header_claiming(30000, 30000))
    client.create_project("mixed")
    job = client.wait_job(client.create_dataset("mixed", "train", layout="labeled-folders", location=folder)["JobId"])
    assert job["Status"] == "SUCCEEDED"
    rejected = {Path(r["file"]).name: r["reason"] for r in job["Result"]["rejected"]}
    assert set(rejected) == {"tiny.png", "bomb.png"}
    assert "30000" in rejected["bomb.png"]
    desc = client.describe_dataset("mixed", "train")
    assert desc["Status"] == "CREATE_COMPLETE"
    assert desc["ImageStats"] == {"Total": 6, "Labeled": 6, "Normal": 3, "Anomaly": 3}
    assert "2 rejected" in desc["StatusMessage"] and "tiny.png" in desc["StatusMessage"]


def test_update_with_a_bad_file_rolls_back(client: Client, sample_folder: Path, tmp_path: Path) -> None:
    client.create_project("rollback")
    client.wait_job(
        client.create_dataset("rollback", "train", layout="labeled-folders", location=sample_folder)["JobId"]
    )
    before = list(client.list_dataset_entries("rollback", "train"))
    (tmp_path / "tiny.png").write_bytes(TEN_BYTES)
    line = {
        "source-ref": str(tmp_path / "tiny.png"),
        "anomaly-label": 1,
        "anomaly-label-metadata": {
            "class-name": "anomaly",
            "type": "groundtruth/image-classification",
            "human-annotated": "yes",
        },
    }
    answer = client.update_dataset_entries("rollback", "train", json.dumps(line) + "\n")
    client.wait_job(answer["JobId"])
    desc = client.describe_dataset("rollback", "train")
    assert desc["Status"] == "UPDATE_FAILED_ROLLBACK_COMPLETE"
    assert "tiny.png" in desc["StatusMessage"]
    assert list(client.list_dataset_entries("rollback", "train")) == before


def test_detect_on_a_model_that_is_not_hosted(api: httpx.Client, client: Client, sample_folder: Path) -> None:
    client.create_project("nothosted")
    client.wait_job(
        client.create_dataset("nothosted", "train", layout="labeled-folders", location=sample_folder)["JobId"]
    )
    version = client.create_model("nothosted")["ModelMetadata"]["ModelVersion"]
    image = next((sample_folder / "normal").iterdir()).read_bytes()
    body = _error(
        api.post(
            f"/v1/projects/nothosted/models/{version}/detect", content=image, headers={"Content-Type": "image/png"}
        ),
        409,
    )
    assert "HOSTED" in body["message"] and body["field"] == "ModelVersion"
    body = _error(
        api.post("/v1/projects/nothosted/models/99/detect", content=image, headers={"Content-Type": "image/png"}), 404
    )
    assert "99" in body["message"]


def test_server_still_serves_and_kept_everything(api: httpx.Client) -> None:
    names = {p["ProjectName"] for p in api.get("/v1/projects").json()["Projects"]}
    assert {"dup", "dtype", "broken-manifest"} <= names
    assert api.get("/healthz").json()["status"] == "ok"


def test_training_options_are_checked_then_used(api: httpx.Client, client: Client, sample_folder: Path) -> None:
    """Engine options over the API: refused with the field and rule before anything is queued, else recorded."""
    client.create_project("options")
    client.wait_job(
        client.create_dataset("options", "train", layout="labeled-folders", location=sample_folder)["JobId"]
    )
    refused = [
        ({"TrainingOptions": {"longside": 512}}, "TrainingOptions", "unknown training option 'longside'"),
        ({"TrainingOptions": {"long_side": 500}}, "TrainingOptions", "from 128 to 1024, a multiple of 32"),
        ({"TrainingOptions": {"long_side": "512"}}, "TrainingOptions", "must be an integer from 128"),
        ({"TrainingOptions": {"memory_min": True}}, "TrainingOptions", "'memory_min' must be an integer"),
        ({"TrainingOptions": {"memory_max": 10**30}}, "TrainingOptions", "'memory_max' must be an integer"),
        ({"Backbone": ""}, "Backbone", "must be one of efficientnet-lite0"),
        ({"Backbone": "resnet-50"}, "Backbone", "must be one of efficientnet-lite0"),
        ({"Backbone": "efficientnet-lite0:/etc/hostname"}, "Backbone", "not a weights path"),
        ({"Algorithm": "knn"}, "Algorithm", "must be one of auto"),
    ]
    for body, field, words in refused:
        error = _error(api.post("/v1/projects/options/models", json=body), 400)
        assert error["field"].startswith(field) and words in error["message"].lower(), (body, error)
    assert list(client.list_models("options")) == []
    answer = client.create_model("options", backbone="efficientnet-lite0", training_options={"long_side": 160.0})
    assert client.wait_job(answer["JobId"], timeout=600)["Status"] == "SUCCEEDED"
    details = client.describe_model("options", answer["ModelMetadata"]["ModelVersion"])["Details"]
    assert details["training_options"] == {"long_side": 160} and details["backbone"] == "efficientnet-lite0"
    assert max(details["input_size"]) == 160
