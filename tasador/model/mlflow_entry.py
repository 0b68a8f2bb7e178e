"""The file MLflow executes to build the pyfunc model ("models from code": nothing pickled).

`log_model` passes this path to MLflow; it is not meant to be imported by tasador itself.
"""

from mlflow.models import set_model

from tasador.model.pyfunc import TasadorPriceModel

set_model(TasadorPriceModel())
