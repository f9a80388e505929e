"""quantize.hub against the local fake Hub: pinned, resumable, verified downloads."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from quantize.hub import (
    ChecksumMismatchError,
    DownloadCancelled,
    DownloadInProgressError,
    HubAuthError,
    HubNotFoundError,
    HubOfflineError,
    download_file,
    download_files,
    list_repo_files,
    partial_bytes,
    partial_path,
    sha256_file,
)
from tests.fixtures.fake_hub import closed_endpoint, silent_endpoint
from tests.models.helpers import random_bytes

REPO = "org/tiny-GGUF"
MODEL = "tiny-q4_k_m.gguf"
SIZE = 3 * 2**20 + 12345


@pytest.fixture
def repo(fake_hub):
    data = random_bytes(SIZE)
    commit = fake_hub.add_repo(REPO, {MODEL: data, "README.md": b"# tiny\n", "config.json": b"{}"})
    return data, commit


def files_in(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_listing_pins_the_commit_and_carries_published_checksums(repo):
    data, commit = repo
    snap = list_repo_files(REPO, "main")
    assert snap.commit_sha == commit
    model = snap.file(MODEL)
    assert (model.size, model.sha256) == (SIZE, hashlib.sha256(data).hexdigest())
    assert snap.file("README.md").sha256 is None and snap.file("README.md").blob_id
    with pytest.raises(HubNotFoundError, match="no file"):
        snap.file("missing.gguf")


def test_download_verifies_and_places_the_file(repo, tmp_path, fake_hub):
    data, commit = repo
    seen = []
    path = download_file(REPO, MODEL, tmp_path / "models", progress=seen.append)
    assert path == tmp_path / "models" / MODEL and path.read_bytes() == data
    assert files_in(tmp_path / "models") == [MODEL]  # no part or lock file left behind
    assert fake_hub.served_bytes(MODEL) == SIZE
    assert seen[-1].phase == "done" and seen[-1].done == SIZE
    # every byte came from the commit the branch pointed to, via the CDN redirect
    resolve = [r for r in fake_hub.requests if r.file == MODEL and r.server == "hub"]
    assert resolve and all(f"/resolve/{commit}/" in r.url for r in resolve)


def test_an_existing_download_is_not_fetched_again(repo, tmp_path, fake_hub):
    download_file(REPO, MODEL, tmp_path)
    download_file(REPO, MODEL, tmp_path)
    assert fake_hub.served_bytes(MODEL) == SIZE


def test_a_snapshot_keeps_the_download_on_its_commit(repo, tmp_path, fake_hub):
    data, _ = repo
    snap = list_repo_files(REPO)
    fake_hub.commit(REPO, {MODEL: random_bytes(SIZE, seed=7)})  # main moves on meanwhile
    path = download_file(REPO, MODEL, tmp_path, snapshot=snap)
    assert path.read_bytes() == data


def test_small_git_files_are_verified_by_their_blob_id(repo, tmp_path, fake_hub):
    fake_hub.corrupt_byte("README.md", 2)
    path = download_file(REPO, "README.md", tmp_path)
    assert path.read_bytes() == b"# tiny\n"
    assert fake_hub.served_bytes("README.md") == 2 * len(b"# tiny\n")


def test_dropped_connection_resumes_where_it_stopped(repo, tmp_path, fake_hub, fast_retries):
    data, _ = repo
    fake_hub.drop_connection_after(MODEL, 1_000_000, times=2)
    phases = []
    path = download_file(REPO, MODEL, tmp_path, progress=lambda p: phases.append(p.phase))
    assert path.read_bytes() == data
    assert fake_hub.served_bytes(MODEL) == SIZE  # nothing fetched twice
    starts = [r.range_start for r in fake_hub.body_requests(MODEL)]
    assert starts == [None, 1_000_000, 2_000_000]
    assert "retrying" in phases


def test_pause_keeps_the_part_and_resume_fetches_only_the_rest(repo, tmp_path, fake_hub):
    data, _ = repo
    fake_hub.throttle(8 * 2**20)
    cancel = threading.Event()

    def pause_after_a_megabyte(progress):
        if progress.done >= 2**20:
            cancel.set()

    with pytest.raises(DownloadCancelled) as stopped:
        download_file(REPO, MODEL, tmp_path, progress=pause_after_a_megabyte, cancel=cancel)
    snap = list_repo_files(REPO)
    kept = partial_bytes(tmp_path, snap.file(MODEL))
    assert kept == stopped.value.bytes_done >= 2**20
    assert not (tmp_path / MODEL).exists()

    fake_hub.throttle(None)
    checked = []
    path = download_file(REPO, MODEL, tmp_path, progress=checked.append)
    assert path.read_bytes() == data
    resumed = fake_hub.body_requests(MODEL)[-1]
    assert (resumed.range_start, resumed.body_bytes) == (kept, SIZE - kept)
    assert any(p.phase == "checking" for p in checked)  # the kept bytes were hashed first


KILLABLE_DOWNLOAD = """
import sys
from quantize.hub import download_file
download_file(sys.argv[1], sys.argv[2], sys.argv[3])
"""


def test_download_killed_by_sigkill_resumes_in_a_new_process(repo, tmp_path, fake_hub):
    from tests.fixtures.fake_hub import wait_until
    from tests.models.helpers import child_env, start_python

    data, _ = repo
    fake_hub.throttle(2 * 2**20)
    dest = tmp_path / "dest"
    part = partial_path(dest, list_repo_files(REPO).file(MODEL))
    child = start_python(KILLABLE_DOWNLOAD, child_env(fake_hub.endpoint), REPO, MODEL, str(dest))
    try:
        assert wait_until(lambda: part.is_file() and part.stat().st_size >= 2**20, timeout=30)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -9
    on_disk = part.stat().st_size
    assert 0 < on_disk < SIZE and not (dest / MODEL).exists()

    fake_hub.throttle(None)
    resume = start_python(KILLABLE_DOWNLOAD, child_env(fake_hub.endpoint), REPO, MODEL, str(dest))
    out, err = resume.communicate(timeout=60)
    assert resume.returncode == 0, err
    assert (dest / MODEL).read_bytes() == data
    last = fake_hub.body_requests(MODEL)[-1]
    assert (last.range_start, last.body_bytes) == (on_disk, SIZE - on_disk)


def test_a_corrupted_byte_is_caught_and_the_file_fetched_again(repo, tmp_path, fake_hub):
    data, _ = repo
    fake_hub.corrupt_byte(MODEL, 123_456)
    messages = []
    path = download_file(REPO, MODEL, tmp_path, progress=messages.append)
    assert path.read_bytes() == data
    assert fake_hub.served_bytes(MODEL) == 2 * SIZE
    retry = [p for p in messages if p.phase == "retrying"]
    assert retry and "corrupt" in retry[0].message


def test_a_file_corrupt_twice_is_refused_and_nothing_is_left(repo, tmp_path, fake_hub):
    fake_hub.corrupt_byte(MODEL, 5, times=2)
    with pytest.raises(ChecksumMismatchError) as error:
        download_file(REPO, MODEL, tmp_path)
    assert error.value.expected == hashlib.sha256(repo[0]).hexdigest()
    assert files_in(tmp_path) == []


def test_a_checksum_differing_from_the_hubs_stops_before_downloading(repo, tmp_path, fake_hub):
    with pytest.raises(ChecksumMismatchError, match="nothing was downloaded"):
        download_file(REPO, MODEL, tmp_path, expected_sha256="ab" * 32)
    assert fake_hub.served_bytes(MODEL) == 0


def test_a_server_ignoring_ranges_restarts_cleanly(repo, tmp_path, fake_hub, fast_retries):
    data, _ = repo
    fake_hub.ignore_range()
    fake_hub.drop_connection_after(MODEL, 1_500_000)
    path = download_file(REPO, MODEL, tmp_path)
    assert path.read_bytes() == data
    assert fake_hub.served_bytes(MODEL) == 1_500_000 + SIZE


def test_download_files_fetches_several_and_keeps_subfolders(fake_hub, tmp_path):
    files = {"config.json": b'{"a": 1}', "shards/model-00001.safetensors": random_bytes(70_000)}
    fake_hub.add_repo("org/repo", files)
    paths = download_files("org/repo", list(files), tmp_path / "repo", part_dir=tmp_path / "parts")
    assert [p.read_bytes() for p in paths] == list(files.values())
    assert files_in(tmp_path / "parts") == []


def test_one_writer_per_file(repo, tmp_path, fake_hub):
    fake_hub.throttle(2 * 2**20)
    cancel = threading.Event()
    errors = []

    def first():
        try:
            download_file(REPO, MODEL, tmp_path, cancel=cancel)
        except DownloadCancelled as exc:
            errors.append(exc)

    worker = threading.Thread(target=first)
    worker.start()
    part = partial_path(tmp_path, list_repo_files(REPO).file(MODEL))
    from tests.fixtures.fake_hub import wait_until

    try:
        assert wait_until(lambda: part.is_file() and part.stat().st_size > 0)
        with pytest.raises(DownloadInProgressError, match="another process"):
            download_file(REPO, MODEL, tmp_path)
    finally:
        cancel.set()
        worker.join()
    assert len(errors) == 1


def test_sha256_file_streams_a_whole_file(tmp_path):
    target = tmp_path / "blob"
    target.write_bytes(random_bytes(5 * 2**20 + 3))
    assert sha256_file(target) == hashlib.sha256(target.read_bytes()).hexdigest()


# -- offline -------------------------------------------------------------------------------


def test_connection_refused_is_reported_as_offline_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", closed_endpoint())
    started = time.monotonic()
    with pytest.raises(HubOfflineError, match="connection refused"):
        download_file(REPO, MODEL, tmp_path)
    assert time.monotonic() - started < 2


def test_a_silent_server_times_out_instead_of_hanging(monkeypatch):
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "0.5")
    with silent_endpoint() as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        with pytest.raises(HubOfflineError, match="no answer in time"):
            list_repo_files(REPO)


def test_offline_mode_makes_no_request(fake_hub, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOfflineError, match="HF_HUB_OFFLINE"):
        download_file(REPO, MODEL, tmp_path)
    assert fake_hub.requests == []


def test_hub_going_away_mid_download_keeps_the_part(repo, tmp_path, fake_hub, fast_retries):
    fake_hub.drop_connection_after(MODEL, 1_000_000)
    snap = list_repo_files(REPO)

    def stop_hub_on_first_retry(progress):
        if progress.phase == "retrying":
            fake_hub.stop()

    with pytest.raises(HubOfflineError, match="Cannot reach"):
        download_file(REPO, MODEL, tmp_path, snapshot=snap, progress=stop_hub_on_first_retry)
    assert partial_bytes(tmp_path, snap.file(MODEL)) == 1_000_000
    assert not (tmp_path / MODEL).exists()


# -- access --------------------------------------------------------------------------------


@pytest.fixture
def gated(fake_hub):
    data = random_bytes(200_000)
    fake_hub.add_repo("meta/gated-GGUF", {MODEL: data}, gated=True, tokens=("hf_good",))
    return data


def test_gated_repo_without_token_says_how_to_get_access(gated, tmp_path, fake_hub):
    with pytest.raises(HubAuthError) as error:
        download_file("meta/gated-GGUF", MODEL, tmp_path)
    text = str(error.value)
    assert "HF_TOKEN" in text and f"{fake_hub.endpoint}/meta/gated-GGUF" in text


def test_gated_repo_with_a_token_lacking_access(gated, tmp_path):
    with pytest.raises(HubAuthError, match="gated"):
        download_file("meta/gated-GGUF", MODEL, tmp_path, token="hf_other")


def test_hf_token_opens_a_gated_repo_and_never_reaches_the_cdn(
    gated, tmp_path, fake_hub, monkeypatch
):
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    path = download_file("meta/gated-GGUF", MODEL, tmp_path)
    assert path.read_bytes() == gated
    hub = [r for r in fake_hub.requests if r.server == "hub"]
    cdn = [r for r in fake_hub.requests if r.server == "cdn"]
    assert hub and all(r.authorization == "Bearer hf_good" for r in hub)
    assert cdn and all(r.authorization is None for r in cdn)


@pytest.mark.parametrize(
    ("repo_id", "revision", "filename", "match"),
    [
        ("org/nothing", "main", MODEL, "no such repository"),
        (REPO, "v9", MODEL, "no such revision"),
        (REPO, "main", "other.gguf", "has no file"),
        ("not a repo", "main", MODEL, "not a Hub repository id"),
    ],
)
def test_missing_things_are_named(repo, tmp_path, repo_id, revision, filename, match):
    with pytest.raises(HubNotFoundError, match=match):
        download_file(repo_id, filename, tmp_path, revision=revision)


def test_the_fake_hub_speaks_the_shape_huggingface_hub_expects(
    repo, tmp_path, fake_hub, monkeypatch
):
    """The stand-in is only useful if the real client library accepts it too."""
    import huggingface_hub
    import huggingface_hub.constants as hf_constants

    # huggingface_hub reads these at import time; telemetry would call the endpoint itself
    monkeypatch.setattr(hf_constants, "ENDPOINT", fake_hub.endpoint)
    template = fake_hub.endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    data, commit = repo
    info = huggingface_hub.HfApi(endpoint=fake_hub.endpoint).model_info(REPO, files_metadata=True)
    lfs = {s.rfilename: s.lfs for s in info.siblings}
    assert info.sha == commit and lfs[MODEL].sha256 == hashlib.sha256(data).hexdigest()
    path = huggingface_hub.hf_hub_download(
        REPO, MODEL, local_dir=tmp_path, endpoint=fake_hub.endpoint
    )
    assert Path(path).read_bytes() == data
    assert all(r.url.startswith(("/api/models/", f"/{REPO}/", "/lfs/")) for r in fake_hub.requests)
