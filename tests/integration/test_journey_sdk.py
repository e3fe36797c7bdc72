"""The core journey through the SDK against the real server: import, train, evaluate, host, detect."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from anomalens import samples
from anomalens.sdk import Client, Conflict, InvalidInput
from helpers.images import TEN_BYTES, png_header_claiming
from helpers.server import ServerProcess


@pytest.fixture(scope="module")
def trained(server: ServerProcess, sample_folder: Path) -> dict[str, object]:
    with Client(server.url) as c:
        c.create_project("journey")
        job = c.wait_job(
            c.create_dataset("journey", "train", layout="labeled-folders", location=sample_folder)["JobId"]
        )
        assert job["Status"] == "SUCCEEDED", job
        first = c.create_model(
            "journey", description="first model", tags={"stage": "dev"}, client_token="tok-journey-1"
        )
        again = c.create_model(
            "journey", description="first model", tags={"stage": "dev"}, client_token="tok-journey-1"
        )
        assert again["ModelMetadata"]["ModelVersion"] == first["ModelMetadata"]["ModelVersion"] == "1"
        assert again["JobId"] == first["JobId"]
        job = c.wait_job(first["JobId"], timeout=600)
        assert job["Status"] == "SUCCEEDED", job
        return c.describe_model("journey", 1)


def test_training_reports_metrics_and_writes_evaluation_files(
    trained: dict[str, object], server: ServerProcess
) -> None:
    assert trained["Status"] == "TRAINED"
    perf = trained["Performance"]
    assert isinstance(perf, dict) and set(perf) == {"F1Score", "Precision", "Recall"}
    assert perf["F1Score"] > 0.8  # synthetic scratches/stains are easy; a broken engine scores ~0
    details = trained["Details"]
    assert isinstance(details, dict) and details["image_auroc"] > 0.9
    manifest_uri = trained["EvaluationManifest"]["Uri"]  # type: ignore[index]
    result_uri = trained["EvaluationResult"]["Uri"]  # type: ignore[index]
    assert manifest_uri.endswith("EvaluationManifest-journey-1.json")
    lines = [json.loads(x) for x in Path(manifest_uri).read_text().splitlines()]
    assert len(lines) == details["test_images"]
    assert {"anomaly-label-detected", "anomaly-label-detected-metadata", "source-ref"} <= set(lines[0])
    result = json.loads(Path(result_uri).read_text())
    assert result["AggregatedEvaluationResults"]["Metrics"]["F1Score"] == pytest.approx(perf["F1Score"])
    assert result["EvaluationDetails"]["NumberOfTestingImages"] == len(lines)


def test_a_second_token_trains_a_new_version_and_a_reused_token_with_other_params_is_refused(
    client: Client, trained: dict[str, object]
) -> None:
    with pytest.raises(Conflict, match="ClientToken"):
        client.create_model("journey", description="other", client_token="tok-journey-1")
    assert [m["ModelVersion"] for m in client.list_models("journey")] == ["1"]


def test_host_detect_and_stop(client: Client, trained: dict[str, object], server: ServerProcess) -> None:
    assert client.start_model("journey", 1, min_units=1, max_units=2) == "STARTING_HOSTING"
    desc = client.wait_model("journey", 1, until={"HOSTED", "HOSTING_FAILED"}, timeout=120)
    assert desc["Status"] == "HOSTED", desc["StatusMessage"]
    assert (desc["MinInferenceUnits"], desc["MaxInferenceUnits"], desc["InServiceInferenceUnits"]) == (1, 2, 1)

    normal = client.detect_anomalies("journey", 1, samples.make_image(424_242))
    defect = client.detect_anomalies("journey", "latest", samples.make_image(424_243, "scratch"))
    assert set(normal) == {"Source", "IsAnomalous", "Confidence"}
    assert normal["Source"] == {"Type": "direct"}
    assert normal["IsAnomalous"] is False and defect["IsAnomalous"] is True
    assert 0.0 <= normal["Confidence"] <= 1.0 and 0.0 <= defect["Confidence"] <= 1.0

    for bad, rule in ((TEN_BYTES, "PNG or JPEG"), (png_header_claiming(30000, 30000), "4096")):
        with pytest.raises(InvalidInput, match=rule) as info:
            client.detect_anomalies("journey", 1, bad, content_type="image/png")
        assert info.value.field == "Body"
    with pytest.raises(InvalidInput, match="Content-Type"):
        client.detect_anomalies("journey", 1, samples.make_image(1), content_type="image/jpeg")
    with pytest.raises(Conflict, match="stop it first"):
        client.delete_model("journey", 1)

    def burst(seed: int) -> None:
        with Client(server.url) as c:
            for i in range(15):
                c.detect_anomalies("journey", 1, samples.make_image(seed + i))

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(burst, (10_000, 20_000, 30_000)))
    scaled = client.describe_model("journey", 1)
    assert scaled["DesiredInferenceUnits"] == 2  # load scaled up to MaxInferenceUnits, not beyond
    assert client.wait_model("journey", 1, until={"HOSTED"})["InServiceInferenceUnits"] in (1, 2)

    assert client.stop_model("journey", 1) == "STOPPING_HOSTING"
    assert client.wait_model("journey", 1, until={"TRAINED"}, timeout=60)["Status"] == "TRAINED"
    with pytest.raises(Conflict, match="HOSTED"):
        client.detect_anomalies("journey", 1, samples.make_image(1))


def test_tags_export_and_cleanup(client: Client, trained: dict[str, object]) -> None:
    arn = str(trained["ModelArn"])
    assert client.list_tags(arn) == {"stage": "dev"}
    client.tag_model(arn, {"line": "A3"})
    client.untag_model(arn, ["stage"])
    assert client.list_tags(arn) == {"line": "A3"}
    exported = client.export_dataset("journey", "train").splitlines()
    assert len(exported) == 56 and all(json.loads(x)["source-ref"] for x in exported)
    with pytest.raises(Conflict, match="model version"):
        client.delete_project("journey")
    client.delete_model("journey", 1)
    client.delete_dataset("journey", "train")
    client.delete_project("journey")
    assert "journey" not in {p["ProjectName"] for p in client.list_projects()}
