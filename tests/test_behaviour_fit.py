"""The behavioural model (BG/NBD) fitted on each project's own history at rescore."""

from datetime import date

from chalicelib.predict import artifact, promotion
from chalicelib.services import scoring_jobs
from chalicelib.storage import model_store


def purchases(profile, days):
    return [
        {
            "event_id": f"{profile}-{i}",
            "profile_id": profile,
            "type": "purchase",
            "timestamp": f"2026-{month:02d}-{day:02d}T10:00:00Z",
            "value": 10.0 + 5 * i,
        }
        for i, (month, day) in enumerate(days)
    ]


def test_a_rescore_fits_bgnbd_on_the_project_s_own_customers(api, project):
    # GIVEN a project with 80 customers, 60 of whom bought on 2-4 different days
    events = []
    for c in range(80):
        n = 1 if c >= 60 else 2 + c % 3
        events += purchases(
            f"c{c:02d}", [(3 + (c + k * 2) % 7, 1 + (c * 3 + k) % 27) for k in range(n)]
        )
    for start in range(0, len(events), 400):
        assert api.post("/events", {"events": events[start : start + 400]})[0] == 200
    assert 60 >= promotion.MIN_REPEAT_CUSTOMERS
    # WHEN it is rescored
    job = scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    # THEN it is scored by the default's pipelines with a BG/NBD of its own customers
    default = artifact.default_model().metadata
    version = model_store.current_version(project["id"])
    assert version.startswith("default-2+bg") and job["model_version"] == version
    model = scoring_jobs.current_model(project["id"])
    assert model.metadata["derived_from"] == "default-2"
    assert "this project's 80 customers" in model.metadata["trained_what"]["BG/NBD"]
    assert model.metadata["bgnbd"] != default["bgnbd"]
    assert model.metadata["sha256"] != default["sha256"] or model.bg != artifact.default_model().bg
    assert api.get("/profiles/c01")[1]["predictive"]["model_version"] == version
    # AND the model card still calls it the default, and says what trained what
    card = api.get("/model")[1]
    assert card["model"]["source"] == "default" and card["model"]["derived_from"] == "default-2"
    assert "BG/NBD" in card["model"]["trained_what"]
    # AND a second rescore on the same data derives the same version (no new artifact)
    scoring_jobs.rescore_project(project["id"], date(2026, 11, 20))
    assert model_store.current_version(project["id"]) == version
