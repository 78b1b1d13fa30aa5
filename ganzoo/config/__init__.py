"""A run's configuration: the options, the config-file layout, ``--set``, and the layered resolution."""

from .layout import check_layout, load_config_file
from .options import Choice, TrainConfig, option_params, resumable_options
from .resolve import config_from_dict, flag_message, resolve_config

__all__ = ["Choice", "TrainConfig", "check_layout", "config_from_dict", "flag_message", "load_config_file",
           "option_params", "resolve_config", "resumable_options"]
