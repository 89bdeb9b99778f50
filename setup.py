"""Which packages and files the wheel holds; the rest of the build is in pyproject.toml.

Everything under contactcenter/ is found by itself, so a new subpackage, template
folder or message catalogue ships without an edit here. Three source folders
sit at the top of the checkout but install inside the package, so nothing but
`contactcenter` lands at the top of site-packages: channels/ (the adapters),
templates/ (pages, messages, static files) and config/ (default.toml). At run
time they are found through the package (contactcenter/resources.py), the same
way in an editable checkout as in a wheel.
"""

from setuptools import find_namespace_packages, setup

MAPPED = {
    "contactcenter.channels": "channels",
    "contactcenter.templates": "templates",
    "contactcenter.config": "config",
}
NOT_SHIPPED = ["*.__pycache__", "*.__pycache__.*"]


def folders(package: str, where: str = ".") -> list[str]:
    """The package and every folder below it, as (namespace) packages."""
    found = find_namespace_packages(where=where, exclude=NOT_SHIPPED)
    if where == ".":
        return [name for name in found if name == package or name.startswith(package + ".")]
    return [package, *(f"{package}.{name}" for name in found)]


packages = folders("contactcenter")
for package, folder in MAPPED.items():
    packages += folders(package, folder)

setup(
    packages=packages,
    package_dir=MAPPED,
    # Every file in those folders but compiled Python: templates, static files,
    # default.toml, Alembic's script.py.mako, Babel catalogues (.po/.mo).
    package_data={package: ["*"] for package in packages},
    exclude_package_data={"": ["*.pyc", "*.pyo"]},
)
