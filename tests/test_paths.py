"""Every location under one folder when QWQ_DESKTOP_HOME is set; platform folders otherwise."""

from app.paths import app_paths


def test_home_override_puts_everything_under_one_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("QWQ_DESKTOP_HOME", str(tmp_path / "portable"))
    paths = app_paths().ensure()
    root = (tmp_path / "portable").resolve()
    for location in (
        paths.config_dir,
        paths.data_dir,
        paths.cache_dir,
        paths.models_dir,
        paths.docs_index_dir,
        paths.logs_dir,
        paths.settings_file,
        paths.conversations_db,
        paths.downloads_dir,
    ):
        assert root in location.parents
    assert paths.models_dir.is_dir() and paths.downloads_dir.is_dir()


def test_platform_folders_without_override(monkeypatch):
    monkeypatch.delenv("QWQ_DESKTOP_HOME", raising=False)
    paths = app_paths()
    assert "QwQDesktop" in str(paths.data_dir)
    assert paths.settings_file.parent == paths.config_dir


def test_explicit_home_argument_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("QWQ_DESKTOP_HOME", str(tmp_path / "env"))
    assert app_paths(tmp_path / "arg").data_dir == (tmp_path / "arg").resolve() / "data"
