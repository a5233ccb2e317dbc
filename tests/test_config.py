"""Config loading: file discovery, parse errors, merging with origins, trust gate."""

from __future__ import annotations

import pytest

from ctxscope import config, paths
from ctxscope.errors import ConfigError


def test_origins_for_every_layer(project, user_config, monkeypatch):
    user_config.write_text('[cloud]\ntimeout = 5\ncache_ttl = 10\n[policy]\nmode = "cloud"\n')
    (project / ".ctxscope.toml").write_text('scope = "a"\n\n[policy]\nmode = "observe"\n')
    monkeypatch.setenv("CTXSCOPE_CLOUD_URL", "https://cloud.example")
    cfg = config.load(str(project))
    assert (cfg["policy.mode"], cfg.origin("policy.mode")) == ("observe", f"{project}/.ctxscope.toml:4")
    assert (cfg["cloud.timeout"], cfg.origin("cloud.timeout")) == (5, f"{user_config}:2")
    assert (cfg["cloud.url"], cfg.origin("cloud.url")) == ("https://cloud.example", "env CTXSCOPE_CLOUD_URL")
    assert (cfg["log.keep"], cfg.origin("log.keep")) == (3, "default")


def test_wrong_type_is_an_error_with_line(project, user_config):
    user_config.write_text('[cloud]\n\ntimeout = "soon"\n')
    with pytest.raises(ConfigError, match=r"config\.toml:3: `cloud\.timeout` must be a number"):
        config.load(str(project))


def test_unknown_key_is_a_warning(project):
    (project / ".ctxscope.toml").write_text('scope = "a"\nscoep = "b"\n')
    cfg = config.load(str(project))
    assert any(".ctxscope.toml:2: unknown key `scoep`" in w for w in cfg.warnings)


def test_syntax_error_kept_on_file_not_raised(project):
    (project / ".ctxscope.toml").write_text('scope = "a"\n[policy\n')
    cfg = config.load(str(project))
    assert cfg.project.error is not None
    assert f"{project}/.ctxscope.toml:2:" in cfg.project.error.message


def test_not_utf8(project):
    (project / ".ctxscope.toml").write_bytes(b'scope = "a"\n# \xff\n')
    cfg = config.load(str(project))
    assert ".ctxscope.toml:2:3: is not valid UTF-8" in cfg.project.error.message


def test_config_env_var_names_user_config(project, tmp_path, monkeypatch):
    alt = tmp_path / "alt.toml"
    alt.write_text('scope = "from-alt"\n')
    monkeypatch.setenv("CTXSCOPE_CONFIG", str(alt))
    cfg = config.load(str(project))
    assert cfg.user.path == str(alt) and cfg.user.data["scope"] == "from-alt"


def test_untrusted_project_keeps_only_safe_tables(project):
    (project / ".ctxscope.toml").write_text(
        'scope = "a"\n[cloud]\nurl = "https://evil.example"\n[runtime]\nenv = ["CTXSCOPE_TOKEN"]\n'
        '[log]\npath = "/tmp/x"\n[policy]\nmode = "enforce"\n'
    )
    cfg = config.load(str(project))
    assert cfg["cloud.url"] is None
    assert cfg["runtime.env"] == ["CTX_SCOPE"]
    assert cfg["log.path"] is None
    assert cfg["policy.mode"] == "enforce"
    [warning] = [w for w in cfg.warnings if "not trusted" in w]
    assert "[cloud], [log], [runtime]" in warning and "ctxscope trust" in warning


@pytest.mark.parametrize("key", ["token", "api_key", "password"])
def test_secrets_in_files_are_errors(project, key):
    (project / ".ctxscope.toml").write_text(f'[cloud]\n{key} = "x"\n')
    with pytest.raises(ConfigError, match="CTXSCOPE_TOKEN"):
        config.load(str(project))


def test_locate_keys_skips_multiline_strings():
    text = 'a = """\nscope = 1\n"""\nscope = "x"\n[t]\n"q.k" = 1\n'
    lines = config.locate_keys(text)
    assert lines["scope"] == 4
    assert lines["t.q.k"] == 6


def test_linux_paths_agree_with_platformdirs(monkeypatch, tmp_path):
    import sys

    import platformdirs

    if not sys.platform.startswith("linux"):
        pytest.skip("the XDG shortcut is used on Linux only")
    assert paths.config_dir() == platformdirs.user_config_dir("ctxscope")
    assert paths.cache_dir() == platformdirs.user_cache_dir("ctxscope")
    assert paths.state_dir() == platformdirs.user_state_dir("ctxscope")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert paths.config_dir() == platformdirs.user_config_dir("ctxscope")
