"""Buildpack fallback: recognise a repository's stack and write a Dockerfile for it.

Used when a repository has no Dockerfile. Pure: it only reads files under the folder it
is given, so detection is table-tested over tiny sample repos. Base images come from a
map the agent configures, merged over DEFAULT_BASE_IMAGES. The Dockerfiles only assume
what a plain Debian image with the stack's packages provides (README, "Base images"):
the official language images work, and so does a Debian base built without a registry.

Detection order matters because real repos mix ecosystems: Go, Ruby, Python and PHP
apps often carry a package.json for front-end assets, so Node is tried after them, and
a plain static site comes last. The first stack whose marker file exists decides; a
marker without a way to start the app is an error rather than a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

DEFAULT_BASE_IMAGES = {
    "node": "docker.io/library/node:20-bookworm-slim",
    "python": "docker.io/library/python:3.12-slim",
    "go": "docker.io/library/golang:1.22-bookworm",
    "go-runtime": "docker.io/library/debian:bookworm-slim",
    "ruby": "docker.io/library/ruby:3.3-slim",
    "php": "docker.io/library/php:8.3-cli",
    "composer": "docker.io/library/composer:2",
    "static": "docker.io/library/busybox:1.36",
}
STATIC_SERVER = ["httpd", "-f", "-v", "-p", "8080", "-h", "/www"]
_MAX_SCAN_BYTES = 256 * 1024


class StackNotDetected(ValueError):
    """No supported stack, or a stack without a way to start it; says what was looked for."""


@dataclass(frozen=True)
class StackPlan:
    stack: str  # node, python, go, ruby, php, static
    framework: str | None
    port: int
    command: list[str] | None
    reason: str
    package_manager: str | None = None
    install: list[str] | None = None  # dependency install command (run before COPY . .)
    build: list[str] | None = None  # build step after the sources are copied
    static_dir: str | None = None  # static: folder served; node static build: output folder
    main_package: str = "."  # go: package with func main
    env: dict[str, str] = field(default_factory=dict)


def detect_stack(path: str | Path) -> StackPlan:
    root = Path(path)
    for detector in (_go, _ruby, _python, _php, _node, _static):
        plan = detector(root)
        if plan is not None:
            return plan
    raise StackNotDetected(
        "no Dockerfile and no supported stack found: looked for go.mod (Go), Gemfile (Ruby), "
        "requirements.txt, pyproject.toml, Pipfile or manage.py (Python), composer.json or "
        "index.php (PHP), package.json (Node), index.html or a public/ or dist/ folder "
        "(static site). Add a Dockerfile, or name one in .basepod")


def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(_MAX_SCAN_BYTES)
    except OSError:
        return ""


# --- Node ------------------------------------------------------------------------------


def _table(value: object) -> dict:
    """A JSON object field, or {} when it is missing or of the wrong type."""
    return value if isinstance(value, dict) else {}


def _node(root: Path) -> StackPlan | None:
    if not (root / "package.json").is_file():
        return None
    try:
        pkg = json.loads(_read(root / "package.json"))
    except ValueError as exc:
        raise StackNotDetected(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(pkg, dict):
        raise StackNotDetected("package.json must contain a JSON object")
    deps = {**_table(pkg.get("devDependencies")), **_table(pkg.get("dependencies"))}
    scripts = _table(pkg.get("scripts"))
    if (root / "pnpm-lock.yaml").is_file():
        pm, install = "pnpm", ["pnpm", "install", "--frozen-lockfile"]
    elif (root / "yarn.lock").is_file():
        pm, install = "yarn", ["yarn", "install"]
    elif (root / "package-lock.json").is_file():
        pm, install = "npm", ["npm", "ci"]
    else:
        pm, install = "npm", ["npm", "install"]
    build = [pm, "run", "build"] if "build" in scripts else None
    common = {"stack": "node", "package_manager": pm, "install": install}
    server = dict(port=3000, env={"NODE_ENV": "production", "PORT": "3000"}, **common)
    if "next" in deps:
        return StackPlan(framework="nextjs", build=build or ["npx", "next", "build"],
                         command=["npx", "next", "start", "-H", "0.0.0.0", "-p", "3000"],
                         reason="package.json depends on next", **server)
    if "start" in scripts:
        return StackPlan(framework="express" if "express" in deps else None, build=build,
                         command=[pm, "start"], reason=f"package.json has a start script ({pm})", **server)
    main = pkg.get("main") if isinstance(pkg.get("main"), str) else None
    for candidate in filter(None, [main, "server.js", "index.js", "app.js"]):
        if ".." not in candidate.split("/") and (root / candidate).is_file():
            return StackPlan(framework=None, build=build, command=["node", candidate],
                             reason=f"package.json without start script; runs {candidate}", **server)
    if build:
        out = "build" if "react-scripts" in deps else "dist"
        return StackPlan(framework="static-build", port=8080, build=build, command=STATIC_SERVER,
                         static_dir=out, reason=f"package.json only has a build script; serves {out}/",
                         **common)
    raise StackNotDetected("package.json found but no way to start the app: add a \"start\" "
                           "script, a \"main\" file, server.js or index.js, or set command in .basepod")


# --- Python ----------------------------------------------------------------------------


def _python_deps(root: Path) -> set[str]:
    names: set[str] = set()
    for line in _read(root / "requirements.txt").splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match and not line.lstrip().startswith(("#", "-")):
            names.add(match.group(1))
    for file_name in ("pyproject.toml", "Pipfile"):
        try:
            data = tomllib.loads(_read(root / file_name))
        except tomllib.TOMLDecodeError:
            continue
        for spec in (data.get("project") or {}).get("dependencies") or []:
            if match := re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(spec)):
                names.add(match.group(1))
        names.update((data.get("tool") or {}).get("poetry", {}).get("dependencies", {}) or {})
        names.update(data.get("packages") or {})
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


def _python_modules(root: Path) -> list[tuple[str, Path]]:
    """(module name, file) for likely app modules: well-known names first, then the rest."""
    preferred = ["app.py", "main.py", "wsgi.py", "asgi.py", "server.py", "application.py",
                 "app/__init__.py", "app/main.py", "src/main.py", "src/app.py"]
    files = [root / name for name in preferred]
    files += sorted(root.glob("*.py")) + sorted(root.glob("*/*.py"))
    seen: list[tuple[str, Path]] = []
    for file in files:
        if not file.is_file() or any(name == file for _, name in seen):
            continue
        rel = file.relative_to(root).with_suffix("")
        parts = [part for part in rel.parts if part != "__init__"]
        if parts and all(part.isidentifier() for part in parts):
            seen.append((".".join(parts), file))
    return seen


def _find_app(root: Path, constructor: str) -> tuple[str, str] | None:
    """(module, attribute) of the module that creates the ``constructor`` app object."""
    assign = re.compile(rf"^(\w+)\s*(?::[^=\n]+)?=\s*(?:\w+\.)?{constructor}\(", re.MULTILINE)
    factory = re.compile(r"^def\s+(create_app|make_app)\s*\(", re.MULTILINE)
    for module, file in _python_modules(root):
        text = _read(file)
        if match := assign.search(text):
            return module, match.group(1)
    for module, file in _python_modules(root):
        text = _read(file)
        if constructor in text and (match := factory.search(text)):
            return module, f"{match.group(1)}()"
    return None


def _python(root: Path) -> StackPlan | None:
    markers = [name for name in ("requirements.txt", "pyproject.toml", "Pipfile", "manage.py")
               if (root / name).is_file()]
    if not markers:
        return None
    deps = _python_deps(root)
    if (root / "requirements.txt").is_file():
        pm, install = "pip", ["pip", "install", "--no-cache-dir", "-r", "requirements.txt"]
    elif (root / "Pipfile").is_file():
        pm, install = "pipenv", ["sh", "-c", "pip install --no-cache-dir pipenv && pipenv install --system"
                                 + (" --deploy" if (root / "Pipfile.lock").is_file() else " --skip-lock")]
    else:
        pm, install = "pip", None  # pyproject: the package installs itself after COPY . .
    build = ["pip", "install", "--no-cache-dir", "."] if install is None and (root / "pyproject.toml").is_file() else None
    env = {"PYTHONUNBUFFERED": "1", "PORT": "8000"}
    base = {"stack": "python", "port": 8000, "package_manager": pm, "install": install, "env": env}

    def with_server(server: str) -> list[str] | None:
        extra = [] if server in deps else ["pip", "install", "--no-cache-dir", server]
        steps = [step for step in (build, extra) if step]
        if not steps:
            return None
        return ["sh", "-c", " && ".join(" ".join(step) for step in steps)] if len(steps) > 1 else steps[0]

    if (root / "manage.py").is_file():
        settings = re.search(r"DJANGO_SETTINGS_MODULE['\"]\s*,\s*['\"]([\w.]+)\.settings", _read(root / "manage.py"))
        project = settings.group(1) if settings else next(
            (wsgi.parent.name for wsgi in sorted(root.glob("*/wsgi.py"))), None)
        if project is None:
            raise StackNotDetected("manage.py found (Django) but no <project>/wsgi.py or settings module")
        return StackPlan(framework="django", build=with_server("gunicorn"),
                         command=["gunicorn", f"{project}.wsgi:application", "--bind", "0.0.0.0:8000"],
                         reason=f"manage.py found (Django project {project})", **base)
    for framework, constructor, server in (("fastapi", "FastAPI", "uvicorn"), ("flask", "Flask", "gunicorn")):
        if framework not in deps:
            continue
        found = _find_app(root, constructor)
        if found is None:
            raise StackNotDetected(f"{constructor} is a dependency but no module creates the app "
                                   f"(looked for `app = {constructor}(...)`); set command in .basepod")
        target = f"{found[0]}:{found[1]}"
        command = (["uvicorn", target, "--host", "0.0.0.0", "--port", "8000"] if server == "uvicorn"
                   else ["gunicorn", "--bind", "0.0.0.0:8000", target])
        return StackPlan(framework=framework, build=with_server(server), command=command,
                         reason=f"{framework} dependency; app object {target}", **base)
    for entry in ("main.py", "app.py", "server.py"):
        if (root / entry).is_file():
            return StackPlan(framework=None, build=build, command=["python", entry],
                             reason=f"{', '.join(markers)} found; runs {entry}", **base)
    raise StackNotDetected(f"Python project ({', '.join(markers)}) but no Django manage.py, Flask or "
                           "FastAPI app, main.py or app.py: set command in .basepod")


# --- Go, Ruby, PHP, static -------------------------------------------------------------


def _go(root: Path) -> StackPlan | None:
    if not (root / "go.mod").is_file():
        return None
    main = re.compile(r"^package\s+main\b", re.MULTILINE)
    candidates = [root] + sorted(p for p in (root / "cmd").glob("*") if p.is_dir())
    for folder in candidates:
        if any(main.search(_read(file)) for file in sorted(folder.glob("*.go"))):
            package = "." if folder == root else "./" + folder.relative_to(root).as_posix()
            return StackPlan(stack="go", framework=None, port=8080, command=["/app/server"],
                             main_package=package, env={"PORT": "8080"},
                             reason=f"go.mod found; main package {package}")
    raise StackNotDetected("go.mod found but no `package main` in the root or cmd/*/")


def _ruby(root: Path) -> StackPlan | None:
    if not (root / "Gemfile").is_file():
        return None
    gems = set(re.findall(r"^\s*gem\s+['\"]([\w-]+)['\"]", _read(root / "Gemfile"), re.MULTILINE))
    base = {"stack": "ruby", "package_manager": "bundler", "install": ["bundle", "install"]}
    if "rails" in gems or (root / "config" / "application.rb").is_file():
        rails = ["bin/rails"] if (root / "bin" / "rails").is_file() else ["bundle", "exec", "rails"]
        return StackPlan(framework="rails", port=3000, command=[*rails, "server", "-b", "0.0.0.0", "-p", "3000"],
                         env={"RAILS_ENV": "production", "RAILS_LOG_TO_STDOUT": "1",
                              "RAILS_SERVE_STATIC_FILES": "1", "PORT": "3000"},
                         reason="Gemfile with rails (or config/application.rb)", **base)
    if (root / "config.ru").is_file():
        return StackPlan(framework="rack", port=9292, env={"PORT": "9292"},
                         command=["bundle", "exec", "rackup", "--host", "0.0.0.0", "--port", "9292"],
                         reason="Gemfile and config.ru (Rack app)", **base)
    if (root / "app.rb").is_file():
        return StackPlan(framework="sinatra" if "sinatra" in gems else None, port=4567, env={"PORT": "4567"},
                         command=["bundle", "exec", "ruby", "app.rb", "-o", "0.0.0.0", "-p", "4567"],
                         reason="Gemfile and app.rb", **base)
    raise StackNotDetected("Gemfile found but no Rails app, config.ru or app.rb")


def _php(root: Path) -> StackPlan | None:
    has_composer = (root / "composer.json").is_file()
    if not (has_composer or (root / "index.php").is_file() or (root / "public" / "index.php").is_file()):
        return None
    require: dict = {}
    if has_composer:
        try:
            require = json.loads(_read(root / "composer.json")).get("require") or {}
        except (ValueError, AttributeError):
            raise StackNotDetected("composer.json is not a valid JSON object") from None
    install = ["composer", "install", "--no-dev", "--no-interaction", "--optimize-autoloader"] if has_composer else None
    base = {"stack": "php", "port": 8080, "package_manager": "composer" if has_composer else None,
                "install": install, "env": {"PORT": "8080"}}
    if "laravel/framework" in require and (root / "artisan").is_file():
        return StackPlan(framework="laravel", command=["php", "artisan", "serve", "--host=0.0.0.0", "--port=8080"],
                         reason="composer.json requires laravel/framework", **base)
    docroot = "public" if (root / "public" / "index.php").is_file() else "."
    return StackPlan(framework=None, command=["php", "-S", "0.0.0.0:8080", "-t", docroot],
                     reason=f"{'composer.json' if has_composer else 'index.php'} found; serves {docroot}", **base)


def _static(root: Path) -> StackPlan | None:
    if (root / "index.html").is_file():
        folder = "."
    else:
        folder = next((name for name in ("public", "dist") if (root / name / "index.html").is_file()), None)
        folder = folder or next((name for name in ("public", "dist") if (root / name).is_dir()), None)
    if folder is None:
        return None
    return StackPlan(stack="static", framework=None, port=8080, command=STATIC_SERVER, static_dir=folder,
                     reason=f"static site in {folder if folder != '.' else 'the repository root'}")


# --- Dockerfile ------------------------------------------------------------------------


def generate_dockerfile(plan: StackPlan, base_images: dict[str, str] | None = None) -> str:
    """A Dockerfile for ``plan``. ``plan.command`` may be replaced (dataclasses.replace)
    by the ``.basepod`` command before calling; without any command this fails."""
    images = {**DEFAULT_BASE_IMAGES, **(base_images or {})}
    if not plan.command:
        raise StackNotDetected(f"no start command for this {plan.stack} app: set command in .basepod")
    header = [f"# Generated by Basepod: {plan.stack}"
              + (f" ({plan.framework})" if plan.framework else "") + f". {plan.reason}."]
    tail = [f"ENV {key}={json.dumps(value)}" for key, value in sorted(plan.env.items())]
    tail += [f"EXPOSE {plan.port}", f"CMD {json.dumps(plan.command)}"]
    if plan.stack == "static":
        return _lines(header, f"FROM {images['static']}", f"COPY {plan.static_dir}/ /www/", *tail)
    if plan.stack == "go":
        return _lines(header, f"FROM {images['go']} AS build", "WORKDIR /src",
                      "COPY go.* ./", "RUN go mod download", "COPY . .",
                      f"RUN CGO_ENABLED=0 go build -o /out/server {plan.main_package}",
                      f"FROM {images['go-runtime']}", "COPY --from=build /out/server /app/server", *tail)
    manifests = {
        "node": "package.json package-lock.json* yarn.lock* pnpm-lock.yaml* ./",
        "python": "requirements.txt* Pipfile* ./",
        "ruby": "Gemfile Gemfile.lock* ./",
        "php": "composer.json composer.lock* ./",
    }[plan.stack]
    body = [f"FROM {images[plan.stack]}", "WORKDIR /app"]
    if plan.stack == "python":
        body += _PYTHON_VENV
    if plan.stack == "php" and plan.install:
        body.append(f"COPY --from={images['composer']} /usr/bin/composer /usr/bin/composer")
    if plan.stack == "node" and plan.package_manager in ("yarn", "pnpm"):
        body.append("RUN corepack enable")
    if plan.install:
        body += [f"COPY {manifests}", f"RUN {json.dumps(plan.install)}"]
    body.append("COPY . .")
    if plan.build:
        body.append(f"RUN {json.dumps(plan.build)}")
    if plan.framework == "static-build":
        return _lines(header, body[0] + " AS build", *body[1:], f"FROM {images['static']}",
                      f"COPY --from=build /app/{plan.static_dir}/ /www/", *tail)
    return _lines(header, *body, *tail)


# Dependencies go to a virtualenv: Debian's python3 has no `pip`/`python` commands and
# refuses system-wide pip installs (PEP 668), while python:* images allow either. With
# the venv first on PATH, `pip`, `python` and installed entry points (gunicorn, uvicorn)
# behave the same on both kinds of base image.
_PYTHON_VENV = ["RUN python3 -m venv /opt/venv", "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH"]


def _lines(header: list[str], *lines: str) -> str:
    return "\n".join([*header, *lines]) + "\n"
