"""The build hook that pyproject.toml cannot declare: the wheel carries what a clone keeps at its top.

The data contracts (`data_contracts/`) and the instance configurations
(`deploy/*.yaml`) sit beside the package in a clone, where people read and
version them; a built wheel copies them into the package, where
`funnel_assets.lib.bundled` finds them once installed. An editable install
reads them where they are.

Dagster's `load_from_defs_folder` finds the project by its configuration file
(pyproject.toml's [tool.dg]), which an installed package has not got: the
wheel carries the same settings as `funnel_assets/dg.toml`.
"""

import shutil
import tomllib
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = {"data_contracts": "**/*.yaml", "deploy": "*.yaml"}


class BuildWithBundledFolders(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for folder, pattern in BUNDLED.items():
            for source in sorted(Path(folder).glob(pattern)):
                target = Path(self.build_lib) / "funnel_assets" / folder / source.relative_to(folder)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        (Path(self.build_lib) / "funnel_assets" / "dg.toml").write_text(_dg_toml())


def _dg_toml() -> str:
    """pyproject.toml's [tool.dg] settings as a dg.toml (flat string values, which is all it holds)."""
    settings = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["dg"]
    lines = [f'{key} = "{value}"' for key, value in settings.items() if not isinstance(value, dict)]
    for table, values in settings.items():
        if isinstance(values, dict):
            lines += [f"[{table}]", *(f'{key} = "{value}"' for key, value in values.items())]
    return "\n".join(lines) + "\n"


setup(cmdclass={"build_py": BuildWithBundledFolders})
