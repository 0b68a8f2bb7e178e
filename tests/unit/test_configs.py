"""configs/*.yaml typed through Settings: every shipped file loads, a misspelt key fails naming the file and the
key, and the TASADOR_* variables reach the stages through Settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tasador.configs import CONFIG_DIR, ConfigError, Configs
from tasador.settings import Settings
from tests.support.benchmark_configs import DriftBenchmark, LoadConfig, ServingBenchmark, benchmark_config

#: ZenML's own run configurations: ZenML validates them when a pipeline is run with them.
ZENML_RUN_CONFIGS = {"training", "deployment", "batch-inference"}
BENCHMARKS = {"serving": ServingBenchmark, "drift": DriftBenchmark, "load": LoadConfig}


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    folder = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, folder)
    return folder


def _edit(path: Path, change: dict) -> None:
    document = yaml.safe_load(path.read_text())
    for dotted, value in change.items():
        *parents, key = dotted.split(".")
        section = document
        for name in parents:
            section = section[name]
        section[key] = value
    path.write_text(yaml.safe_dump(document))


def test_every_shipped_config_loads_into_its_model() -> None:
    configs = Configs(CONFIG_DIR)
    names = {path.stem for path in CONFIG_DIR.glob("*.yaml")} - ZENML_RUN_CONFIGS
    assert names, "no configs/*.yaml found"
    for name in sorted(names):
        loaded = getattr(configs, name)  # a file without an attribute here is read by nobody
        assert type(loaded).__name__.lower().startswith(name.replace("-", "")), (name, type(loaded))
    assert {path.stem for path in (CONFIG_DIR / "benchmarks").glob("*.yaml")} == set(BENCHMARKS)
    for name, model in BENCHMARKS.items():
        assert isinstance(benchmark_config(name, model), model)


def test_no_production_config_carries_a_benchmark_section() -> None:
    for path in CONFIG_DIR.glob("*.yaml"):
        assert "benchmark" not in (yaml.safe_load(path.read_text()) or {}), path


def test_a_misspelt_key_fails_naming_the_file_and_the_key(copied: Path) -> None:
    path = copied / "drift.yaml"
    path.write_text(path.read_text().replace("  max_rise:", "  max_rsie:"))
    with pytest.raises(ConfigError) as raised:
        _ = Settings(config_dir=copied).configs.drift
    message = str(raised.value)
    assert str(copied / "drift.yaml") in message
    assert "decay.max_rsie" in message
    assert "decay.max_rise" in message  # the key it should have been is reported missing


def test_a_wrong_value_fails_naming_the_key(copied: Path) -> None:
    _edit(copied / "model.yaml", {"training.nthread": "two"})
    with pytest.raises(ConfigError, match=r"model\.yaml.*training\.nthread"):
        _ = Settings(config_dir=copied).configs.model


def test_a_missing_file_says_where_to_copy_it_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"{tmp_path / 'cleaning.yaml'} is missing; copy it from"):
        _ = Settings(config_dir=tmp_path).configs.cleaning


def test_each_file_is_read_once_per_settings(copied: Path) -> None:
    settings = Settings(config_dir=copied)
    first = settings.configs.cleaning
    (copied / "cleaning.yaml").unlink()
    assert settings.configs.cleaning is first
    with pytest.raises(ConfigError):
        _ = Settings(config_dir=copied).configs.cleaning  # a new Settings reads the folder again


def test_tasador_config_dir_reaches_every_stage_config(copied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(copied / "drift.yaml", {"retrain.min_new_rows": 123})
    monkeypatch.setenv("TASADOR_CONFIG_DIR", str(copied))
    assert Settings().configs.drift.retrain.min_new_rows == 123


def test_tasador_serving_and_ui_config_replace_one_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serving, ui = tmp_path / "my-serving.yaml", tmp_path / "my-ui.yaml"
    shutil.copy(CONFIG_DIR / "serving.yaml", serving)
    shutil.copy(CONFIG_DIR / "ui.yaml", ui)
    _edit(serving, {"api.max_batch_rows": 7})
    _edit(ui, {"charts.height_px": 99})
    monkeypatch.setenv("TASADOR_SERVING_CONFIG", str(serving))
    monkeypatch.setenv("TASADOR_UI_CONFIG", str(ui))
    configs = Settings().configs
    assert configs.serving.api.max_batch_rows == 7
    assert configs.ui.charts.height_px == 99
    assert configs.cleaning == Configs(CONFIG_DIR).cleaning  # the rest still from configs/


def test_the_other_tasador_variables_reach_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASADOR_PUSHGATEWAY_URL", "http://127.0.0.1:9091")
    monkeypatch.setenv("TASADOR_MODEL_DIR", str(tmp_path))
    settings = Settings()
    assert settings.pushgateway_url == "http://127.0.0.1:9091"
    assert settings.model_dir == tmp_path
    monkeypatch.setenv("TASADOR_MODEL_DIR", "")  # compose's `${TASADOR_MODEL_DIR:-}`: unset, not the working directory
    assert Settings().model_dir is None
