"""The tunable numbers of configs/*.yaml, one pydantic model per file, loaded through `Settings.configs`.

One module rather than a `config.py` per stage: most files are read by several stages (cleaning.yaml by
ingest, validation, cleaning, serving and monitoring; drift.yaml by monitoring and the registry; model.yaml
by training, monitoring and the registry), so no stage owns them; and this module needs nothing but
pydantic, so Settings, the service and the UI can import it without a stage's dependencies.

Every model forbids unknown keys: a misspelt key in a YAML file fails when the file is read, naming the
file and the key, instead of being silently ignored while its default applies.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The configs shipped with the code; TASADOR_CONFIG_DIR (Settings.config_dir) points at another folder.
CONFIG_DIR = REPO_ROOT / "configs"


class ConfigModel(BaseModel):
    """A file or a section of one: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class FrozenConfig(BaseModel):
    """A section read by the service's workers, which never change it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configs/*.yaml file that is missing or does not match its model."""


def read_config(path: Path, model: type[Model]) -> Model:
    """`path` validated as `model`; a missing file or a wrong key raises ConfigError naming both."""
    if not path.exists():
        raise ConfigError(f"Config {path} is missing; copy it from {CONFIG_DIR} (every stage reads its numbers there).")
    with path.open() as fh:
        raw = yaml.safe_load(fh) or {}
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"Config {path} does not match {model.__name__} ({problems}); fix those keys.") from exc


# --- cleaning.yaml -------------------------------------------------------------------------------------


class NumberBounds(ConfigModel):
    min: float | None = None  # inclusive
    above: float | None = None  # strictly greater
    max: float | None = None  # inclusive


class SoldDateRange(ConfigModel):
    not_before: dt.date | Literal["today"] | None = None
    not_after: dt.date | Literal["today"] | None = None


class CleaningConfig(ConfigModel):
    """configs/cleaning.yaml: what a row must satisfy to enter CLEAN."""

    required: list[str]
    numbers: dict[str, NumberBounds]
    statuses: list[str]
    prev_sold_date: SoldDateRange
    missing_tokens: list[str]
    reason_value_chars: PositiveInt
    top_reasons: PositiveInt


# --- validation.yaml -----------------------------------------------------------------------------------


class BatchChecks(ConfigModel):
    required_columns: list[str]
    min_rows: NonNegativeInt


class RowChecks(ConfigModel):
    mostly: float = Field(gt=0, le=1)


class Plausible(ConfigModel):
    min: int | float  # an int stays one: the report shows the bound as written
    max: int | float
    mostly: float = Field(gt=0, le=1)


class FeedChecks(ConfigModel):
    completeness: dict[str, float]
    plausible: dict[str, Plausible]
    zip_code_pattern: str


class ValidationReport(ConfigModel):
    examples: PositiveInt
    top_reasons: PositiveInt


class ValidationConfig(ConfigModel):
    """configs/validation.yaml: the Great Expectations checks of a batch."""

    batch: BatchChecks
    rows: RowChecks
    feed: FeedChecks
    report: ValidationReport


# --- drift.yaml ----------------------------------------------------------------------------------------


class ReferenceSample(ConfigModel):
    sample_size: PositiveInt
    seed: int


class NumericDrift(ConfigModel):
    features: list[str]
    log_scale: list[str] = []
    bins: PositiveInt
    psi: PositiveFloat
    ks: PositiveFloat


class CategoricalDrift(ConfigModel):
    features: list[str]
    top_k: PositiveInt
    min_category_rows: NonNegativeInt
    psi: PositiveFloat
    unseen_excess: NonNegativeFloat


class MissingRate(ConfigModel):
    change: PositiveFloat


class RetrainRule(ConfigModel):
    min_new_rows: NonNegativeInt
    scheduled_refresh: bool = False


class DecaySegments(ConfigModel):
    price_bands: list[float]
    min_rows: PositiveInt
    top: PositiveInt


class UnseenCategoriesRule(ConfigModel):
    columns: list[str]
    examples: NonNegativeInt
    reason_min_excess: NonNegativeFloat


class DecayRule(ConfigModel):
    max_rise: PositiveFloat
    max_bias: PositiveFloat
    confidence: float = Field(gt=0, lt=1)
    bootstrap: PositiveInt
    seed: int
    min_rows: PositiveInt
    segments: DecaySegments
    unseen: UnseenCategoriesRule


class StormRule(ConfigModel):
    growth: NonNegativeFloat
    patience_batches: PositiveInt


class ServedTraffic(ConfigModel):
    max_rows: PositiveInt


class DriftConfig(ConfigModel):
    """configs/drift.yaml: drift of each batch, production's decay and the retrain rule."""

    reference: ReferenceSample
    significance: float = Field(gt=0, lt=1)
    min_rows: PositiveInt
    psi_epsilon: PositiveFloat
    numeric: NumericDrift
    categorical: CategoricalDrift
    missing_rate: MissingRate
    retrain: RetrainRule
    decay: DecayRule
    storm: StormRule
    served: ServedTraffic


# --- model.yaml ----------------------------------------------------------------------------------------


class PriceRange(ConfigModel):
    min: float
    max: float


class Encoding(ConfigModel):
    folds: PositiveInt
    smoothing: NonNegativeFloat


class Training(ConfigModel):
    nthread: PositiveInt
    validation_fraction: float = Field(gt=0, lt=1)
    max_validation_rows: PositiveInt
    max_rows: PositiveInt
    early_stopping_rounds: PositiveInt
    max_rounds: PositiveInt
    booster: dict[str, Any]  # XGBoost's own parameters, passed to xgb.train as they are
    refit_below_rows: NonNegativeInt
    refit_rounds_factor: PositiveFloat


class LargeDataSearch(ConfigModel):
    above_rows: PositiveInt
    n_trials: PositiveInt


class SearchRange(ConfigModel):
    low: float
    high: float
    type: Literal["int", "float"]
    log: bool = False


class Search(ConfigModel):
    n_trials: PositiveInt
    large_data: LargeDataSearch | None = None
    max_rows: PositiveInt
    space: dict[str, SearchRange]


class ModelConfig(ConfigModel):
    """configs/model.yaml: features, search, training, holdout and explanation of the price model."""

    seed: int
    holdout_percent: int = Field(ge=0, le=100)
    window_batches: PositiveInt | None = None  # None: every clean batch
    price_range: PriceRange
    encoding: Encoding
    training: Training
    search: Search
    shap_sample: PositiveInt


# --- promotion.yaml ------------------------------------------------------------------------------------


class PrimaryMetric(ConfigModel):
    metric: str
    higher_is_better: bool
    min_improvement: NonNegativeFloat


class GuardMetric(ConfigModel):
    higher_is_better: bool
    tolerance: NonNegativeFloat


class ShadowGuard(FrozenConfig):
    max_p95_change_pct: PositiveFloat  # served prices moving more than this at the 95th percentile...
    min_gain: NonNegativeFloat  # ...need at least this relative gain of the primary metric


class ShadowConfig(FrozenConfig):
    """configs/promotion.yaml `shadow`."""

    requests: PositiveInt
    moved_threshold_pct: PositiveFloat
    guard: ShadowGuard | None = None


class HistoryReport(ConfigModel):
    top_shap_features: PositiveInt


class RecentHoldoutRule(ConfigModel):
    batches: PositiveInt
    min_rows: PositiveInt
    whole_tolerance: NonNegativeFloat


class PromotionConfig(ConfigModel):
    """configs/promotion.yaml: challenger vs production on the same holdout."""

    primary: PrimaryMetric
    guards: dict[str, GuardMetric] = {}
    shadow: ShadowConfig
    percent_metrics: list[str] = []
    report: HistoryReport
    recent_holdout: RecentHoldoutRule


# --- datasource.yaml -----------------------------------------------------------------------------------


class GeneratorOptions(ConfigModel):
    seed: int
    scenario: str
    batch_size: PositiveInt
    batches: PositiveInt
    chunk_rows: PositiveInt
    messy: bool = False


class WorldOptions(ConfigModel):
    seed: int
    zip_codes: PositiveInt
    min_zips_per_state: PositiveInt
    zips_per_city: PositiveInt
    brokers: PositiveInt
    broker_popularity_exponent: float
    zip_popularity_concentration: PositiveFloat
    location_share_of_residual: float = Field(ge=0, le=1)
    zip3_share_of_location: float = Field(ge=0, le=1)
    lot_residual_scale: NonNegativeFloat
    residual_t_df: PositiveFloat
    price_round_to: PositiveFloat
    acre_lot_decimals: NonNegativeInt


class Inflation(ConfigModel):
    """Prices rise by `rate_per_batch` (a share) every batch from `start_batch` on."""

    effect: Literal["inflation"]
    start_batch: PositiveInt
    rate_per_batch: float


class SizeShift(ConfigModel):
    """Houses grow by `shift_per_batch` (log size) every batch, up to `max_shift`."""

    effect: Literal["size_shift"]
    start_batch: PositiveInt
    shift_per_batch: float
    max_shift: float


class NewState(ConfigModel):
    """A `share` of the listings comes from `states` the training data has never seen."""

    effect: Literal["new_state"]
    start_batch: PositiveInt
    states: list[str]
    share: float = Field(ge=0, le=1)


#: One drift of a scenario, from its `start_batch` on; `effect` says which.
Effect = Annotated[Inflation | SizeShift | NewState, Field(discriminator="effect")]


class MessyOptions(ConfigModel):
    lowercase_state_share: float = Field(ge=0, le=1)
    numbers_as_strings_share: float = Field(ge=0, le=1)
    zip_with_leading_zeros_share: float = Field(ge=0, le=1)
    extra_field_share: float = Field(ge=0, le=1)


class CalibrationOptions(ConfigModel):
    quantile_count: PositiveInt
    quantile_tail: NonNegativeFloat
    low_price_below: NonNegativeFloat
    state_shrinkage_rows: NonNegativeFloat
    zip_range_quantiles: tuple[float, float]


class CsvOptions(ConfigModel):
    path: Path | None = None
    batch_size: PositiveInt


class ServerOptions(ConfigModel):
    host: str
    port: int
    state_dir: Path | None = None  # None: <TASADOR_HOME>/data_api
    max_group_number: PositiveInt
    max_request_bytes: PositiveInt
    fail_first: NonNegativeInt = 0
    slow_first: NonNegativeInt = 0
    slow_s: NonNegativeFloat = 0
    first_batch: Literal[0, 1] = 1
    window_s: NonNegativeFloat = 0
    window_portion_share: float = Field(default=0.5, gt=0, le=1)
    rows_as_lists: bool = False


class ClientOptions(ConfigModel):
    connect_timeout_s: PositiveFloat
    read_timeout_s: PositiveFloat
    retries: NonNegativeInt
    backoff_initial_s: NonNegativeFloat
    backoff_factor: PositiveFloat
    backoff_max_s: NonNegativeFloat
    day: str | None = None
    min_interval_s: NonNegativeFloat = 0
    repeat_wait_s: NonNegativeFloat = 0


class DatasourceConfig(ConfigModel):
    """configs/datasource.yaml: the synthetic generator, its scenarios, our data API server and the client."""

    generator: GeneratorOptions
    world: WorldOptions
    scenarios: dict[str, list[Effect]]
    held_back_states: list[str] = []
    messy: MessyOptions
    calibration: CalibrationOptions
    csv: CsvOptions
    server: ServerOptions
    client: ClientOptions


# --- observability.yaml --------------------------------------------------------------------------------


class PushgatewayOptions(ConfigModel):
    timeout_s: PositiveFloat


class DashboardOptions(ConfigModel):
    refresh: str
    time_from: str
    rate_window: str
    latency_quantiles: list[float]


class LocalServices(ConfigModel):
    startup_timeout_s: PositiveFloat
    scrape_interval_s: PositiveInt
    query_timeout_s: PositiveFloat
    container_nofile: PositiveInt
    container_nproc: PositiveInt


class ObservabilityConfig(ConfigModel):
    """configs/observability.yaml: delivery of the loop's metrics and the dashboards."""

    pushgateway: PushgatewayOptions
    dashboard: DashboardOptions
    local_services: LocalServices


# --- serving.yaml --------------------------------------------------------------------------------------


class ApiLimits(FrozenConfig):
    max_batch_rows: PositiveInt
    max_explain_rows: PositiveInt
    max_body_bytes: PositiveInt


class WatchConfig(FrozenConfig):
    interval_s: PositiveFloat
    mlflow_timeout_s: PositiveFloat
    mlflow_max_retries: NonNegativeInt


class RegistryEventsConfig(FrozenConfig):
    check_s: PositiveFloat  # how often a worker looks for a reload signal (a file's stat, no registry call)
    max_age_s: PositiveFloat  # a webhook delivery older than this is refused (a replayed request)


class InferenceLogConfig(FrozenConfig):
    flush_interval_s: PositiveFloat
    flush_rows: PositiveInt
    max_buffer_rows: PositiveInt
    retry_initial_s: PositiveFloat
    retry_max_s: PositiveFloat
    shutdown_timeout_s: PositiveFloat


class MetricsConfig(FrozenConfig):
    request_duration_buckets: list[PositiveFloat]
    price_buckets: list[PositiveFloat]


class ServingConfig(FrozenConfig):
    """configs/serving.yaml (or the file TASADOR_SERVING_CONFIG names): the service's numbers."""

    service: dict[str, Any]  # passed as is to @bentoml.service (workers, traffic, resources)
    api: ApiLimits
    model_watch: WatchConfig
    registry_events: RegistryEventsConfig
    inference_log: InferenceLogConfig
    metrics: MetricsConfig

    @property
    def access_log_enabled(self) -> bool:
        """`service.logging.access.enabled` (BentoML's default: on)."""
        return bool(self.service.get("logging", {}).get("access", {}).get("enabled", True))


# --- scoring.yaml --------------------------------------------------------------------------------------


class ScoringConfig(FrozenConfig):
    """configs/scoring.yaml."""

    chunk_rows: PositiveInt  # rows read, checked and priced at a time (the progress step; memory stays bounded)
    top_reasons: PositiveInt  # most frequent refusal reasons the summary lists


# --- services.yaml -------------------------------------------------------------------------------------


class PostgresConfig(ConfigModel):
    host: str
    port: int
    admin_database: str
    app_database: str
    mlflow_database: str

    def url(self, database: str) -> str:
        """SQLAlchemy URL of `database`; user and password from PGUSER / PGPASSWORD (dev: postgres, none)."""
        user = quote(os.environ.get("PGUSER", "postgres"), safe="")
        password = os.environ.get("PGPASSWORD")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{database}"


class S3Config(ConfigModel):
    port: int
    bucket: str
    region: str


class MlflowConfig(ConfigModel):
    port: int
    workers: PositiveInt
    artifacts_path: str
    webhook_cache_ttl_s: NonNegativeInt


class Timeouts(ConfigModel):
    start_s: PositiveFloat
    stop_s: PositiveFloat
    preflight_s: PositiveFloat


class ServicesConfig(ConfigModel):
    """configs/services.yaml: the production services `python run.py services up` starts locally."""

    host: str
    state_dir: Path
    postgres: PostgresConfig
    s3: S3Config
    mlflow: MlflowConfig
    timeouts: Timeouts

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.host}:{self.s3.port}"

    @property
    def mlflow_url(self) -> str:
        return f"http://{self.host}:{self.mlflow.port}"

    @property
    def mlflow_artifacts_destination(self) -> str:
        return f"s3://{self.s3.bucket}/{self.mlflow.artifacts_path}"

    @property
    def database_url(self) -> str:
        """RAW/CLEAN database."""
        return self.postgres.url(self.postgres.app_database)

    @property
    def mlflow_backend_url(self) -> str:
        return self.postgres.url(self.postgres.mlflow_database)


# --- ui.yaml -------------------------------------------------------------------------------------------


class UiServing(ConfigModel):
    timeout_s: PositiveFloat
    ready_timeout_s: PositiveFloat


class UiMlflow(ConfigModel):
    http_timeout_s: PositiveInt
    http_max_retries: NonNegativeInt


class UiCache(ConfigModel):
    history_ttl_s: PositiveFloat
    artifacts_ttl_s: PositiveFloat
    locations_ttl_s: PositiveFloat


class PredictDefaults(ConfigModel):
    status: str
    bed: NonNegativeInt
    bath: NonNegativeInt
    acre_lot: NonNegativeFloat
    house_size: PositiveInt
    max_bed: PositiveInt
    max_bath: PositiveInt
    max_acre_lot: PositiveFloat
    max_house_size: PositiveInt


class UiExplain(ConfigModel):
    top_features: PositiveInt
    trend_features: PositiveInt


class UiCharts(ConfigModel):
    height_px: PositiveInt
    bar_px: PositiveInt


class UiConfig(ConfigModel):
    """configs/ui.yaml (or the file TASADOR_UI_CONFIG names): the Streamlit app's numbers."""

    serving: UiServing
    mlflow: UiMlflow
    cache: UiCache
    predict_defaults: PredictDefaults
    explain: UiExplain
    charts: UiCharts


# --- demo.yaml -----------------------------------------------------------------------------------------


class DemoConfig(ConfigModel):
    """configs/demo.yaml: `make demo`."""

    batches: PositiveInt
    mlflow_ui_port: int


class Configs:
    """Every configs/*.yaml of one folder, each read and validated once, the first time it is asked for.

    training.yaml, deployment.yaml and batch-inference.yaml are ZenML's run configurations, which ZenML reads
    and validates itself (`with_options(config_path=...)`); they have no attribute here.

    `serving` and `ui` may come from files elsewhere (TASADOR_SERVING_CONFIG, TASADOR_UI_CONFIG): a
    deployment mounts its own serving.yaml without copying the rest.
    """

    def __init__(self, folder: Path, serving_file: Path | None = None, ui_file: Path | None = None) -> None:
        self.folder = folder
        self._serving_file = serving_file or folder / "serving.yaml"
        self._ui_file = ui_file or folder / "ui.yaml"

    def path(self, name: str) -> Path:
        """Where `<name>.yaml` is read from (also what ZenML reads a run configuration from)."""
        return self.folder / f"{name}.yaml"

    def _read(self, name: str, model: type[Model]) -> Model:
        return read_config(self.path(name), model)

    @cached_property
    def cleaning(self) -> CleaningConfig:
        return self._read("cleaning", CleaningConfig)

    @cached_property
    def validation(self) -> ValidationConfig:
        return self._read("validation", ValidationConfig)

    @cached_property
    def drift(self) -> DriftConfig:
        return self._read("drift", DriftConfig)

    @cached_property
    def model(self) -> ModelConfig:
        return self._read("model", ModelConfig)

    @cached_property
    def promotion(self) -> PromotionConfig:
        return self._read("promotion", PromotionConfig)

    @cached_property
    def datasource(self) -> DatasourceConfig:
        return self._read("datasource", DatasourceConfig)

    @cached_property
    def observability(self) -> ObservabilityConfig:
        return self._read("observability", ObservabilityConfig)

    @cached_property
    def serving(self) -> ServingConfig:
        return read_config(self._serving_file, ServingConfig)

    @cached_property
    def scoring(self) -> ScoringConfig:
        return self._read("scoring", ScoringConfig)

    @cached_property
    def services(self) -> ServicesConfig:
        return self._read("services", ServicesConfig)

    @cached_property
    def ui(self) -> UiConfig:
        return read_config(self._ui_file, UiConfig)

    @cached_property
    def demo(self) -> DemoConfig:
        return self._read("demo", DemoConfig)
