"""Stack detection over small sample repos, one per stack and framework, and the
Dockerfiles generated for them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from basepod_agent.services.buildpacks import (
    DEFAULT_BASE_IMAGES,
    STATIC_SERVER,
    StackNotDetected,
    detect_stack,
    generate_dockerfile,
)

PKG = json.dumps

# name: (files, stack, framework, port, command, extra expectations on the plan)
SAMPLES: dict[str, tuple[dict[str, str], str, str | None, int, list[str], dict]] = {
    "nextjs": (
        {"package.json": PKG({"dependencies": {"next": "14", "react": "18"},
                              "scripts": {"build": "next build", "start": "next start"}}),
         "package-lock.json": "{}", "pages/index.js": ""},
        "node", "nextjs", 3000, ["npx", "next", "start", "-H", "0.0.0.0", "-p", "3000"],
        {"package_manager": "npm", "install": ["npm", "ci"], "build": ["npm", "run", "build"]}),
    "node-express-yarn": (
        {"package.json": PKG({"dependencies": {"express": "4"}, "scripts": {"start": "node server.js"}}),
         "yarn.lock": "", "server.js": ""},
        "node", "express", 3000, ["yarn", "start"], {"package_manager": "yarn", "env": {"NODE_ENV": "production", "PORT": "3000"}}),
    "node-start-pnpm": (
        {"package.json": PKG({"scripts": {"start": "node index.js"}}), "pnpm-lock.yaml": "", "index.js": ""},
        "node", None, 3000, ["pnpm", "start"],
        {"package_manager": "pnpm", "install": ["pnpm", "install", "--frozen-lockfile"]}),
    "node-main-file": (
        {"package.json": PKG({"main": "src/app.js"}), "src/app.js": ""},
        "node", None, 3000, ["node", "src/app.js"], {"install": ["npm", "install"]}),
    "node-vite-static-build": (
        {"package.json": PKG({"devDependencies": {"vite": "5"}, "scripts": {"build": "vite build"}}),
         "index.html": "<div id=app>"},
        "node", "static-build", 8080, STATIC_SERVER, {"static_dir": "dist"}),
    "node-cra-static-build": (
        {"package.json": PKG({"dependencies": {"react-scripts": "5"}, "scripts": {"build": "react-scripts build"}})},
        "node", "static-build", 8080, STATIC_SERVER, {"static_dir": "build"}),
    "django": (
        {"requirements.txt": "Django==5.0\ngunicorn\n", "manage.py":
         "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n",
         "mysite/settings.py": "", "mysite/wsgi.py": ""},
        "python", "django", 8000, ["gunicorn", "mysite.wsgi:application", "--bind", "0.0.0.0:8000"],
        {"build": None, "install": ["pip", "install", "--no-cache-dir", "-r", "requirements.txt"]}),
    "django-without-gunicorn-adds-it": (
        {"requirements.txt": "django\n", "manage.py": "", "shop/wsgi.py": ""},
        "python", "django", 8000, ["gunicorn", "shop.wsgi:application", "--bind", "0.0.0.0:8000"],
        {"build": ["pip", "install", "--no-cache-dir", "gunicorn"]}),
    "flask": (
        {"requirements.txt": "Flask>=3\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"},
        "python", "flask", 8000, ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"], {}),
    "flask-factory-in-package": (
        {"requirements.txt": "flask\n", "web/__init__.py": "from flask import Flask\ndef create_app():\n    return Flask(__name__)\n"},
        "python", "flask", 8000, ["gunicorn", "--bind", "0.0.0.0:8000", "web:create_app()"], {}),
    "fastapi-pyproject": (
        {"pyproject.toml": '[project]\nname = "svc"\ndependencies = ["fastapi>=0.110", "uvicorn[standard]"]\n',
         "service/main.py": "import fastapi\napi: fastapi.FastAPI = fastapi.FastAPI()\n"},
        "python", "fastapi", 8000, ["uvicorn", "service.main:api", "--host", "0.0.0.0", "--port", "8000"],
        {"install": None, "build": ["pip", "install", "--no-cache-dir", "."]}),
    "fastapi-pipfile": (
        {"Pipfile": '[packages]\nfastapi = "*"\n', "main.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
        "python", "fastapi", 8000, ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000"],
        {"package_manager": "pipenv", "build": ["pip", "install", "--no-cache-dir", "uvicorn"]}),
    "python-plain-script": (
        {"requirements.txt": "requests\n", "main.py": "print('hi')\n"},
        "python", None, 8000, ["python", "main.py"], {}),
    "go-root-main": (
        {"go.mod": "module example.com/app\n", "main.go": "package main\nfunc main() {}\n"},
        "go", None, 8080, ["/app/server"], {"main_package": "."}),
    "go-cmd-layout": (
        {"go.mod": "module example.com/app\n", "internal/x.go": "package x\n",
         "cmd/api/main.go": "package main\nfunc main() {}\n"},
        "go", None, 8080, ["/app/server"], {"main_package": "./cmd/api"}),
    "rails": (
        {"Gemfile": "source 'https://rubygems.org'\ngem 'rails', '~> 7.1'\n", "bin/rails": "",
         "config/application.rb": "", "package.json": PKG({"scripts": {"start": "x"}})},
        "ruby", "rails", 3000, ["bin/rails", "server", "-b", "0.0.0.0", "-p", "3000"],
        {"env": {"RAILS_ENV": "production", "RAILS_LOG_TO_STDOUT": "1", "RAILS_SERVE_STATIC_FILES": "1", "PORT": "3000"}}),
    "rack": (
        {"Gemfile": "gem \"rack\"\n", "config.ru": "run ->(env) { [200, {}, ['ok']] }\n"},
        "ruby", "rack", 9292, ["bundle", "exec", "rackup", "--host", "0.0.0.0", "--port", "9292"], {}),
    "sinatra": (
        {"Gemfile": "gem 'sinatra'\n", "app.rb": "require 'sinatra'\n"},
        "ruby", "sinatra", 4567, ["bundle", "exec", "ruby", "app.rb", "-o", "0.0.0.0", "-p", "4567"], {}),
    "php-plain": (
        {"index.php": "<?php echo 'hi';"},
        "php", None, 8080, ["php", "-S", "0.0.0.0:8080", "-t", "."], {"install": None}),
    "php-composer-public": (
        {"composer.json": PKG({"require": {"slim/slim": "^4"}}), "public/index.php": "<?php"},
        "php", None, 8080, ["php", "-S", "0.0.0.0:8080", "-t", "public"], {"package_manager": "composer"}),
    "laravel": (
        {"composer.json": PKG({"require": {"laravel/framework": "^11"}}), "artisan": "", "public/index.php": "",
         "package.json": PKG({"scripts": {"build": "vite build"}})},
        "php", "laravel", 8080, ["php", "artisan", "serve", "--host=0.0.0.0", "--port=8080"], {}),
    "static-root": (
        {"index.html": "<h1>hi</h1>", "style.css": ""},
        "static", None, 8080, STATIC_SERVER, {"static_dir": "."}),
    "static-public": (
        {"public/index.html": "<h1>hi</h1>"},
        "static", None, 8080, STATIC_SERVER, {"static_dir": "public"}),
    "static-dist-folder": (
        {"dist/app.js": "", "README.md": ""},
        "static", None, 8080, STATIC_SERVER, {"static_dir": "dist"}),
}


def make_repo(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_sample_repo_is_detected_with_the_right_stack_framework_port_and_command(sample, tmp_path):
    files, stack, framework, port, command, extra = SAMPLES[sample]
    plan = detect_stack(make_repo(tmp_path, files))
    assert (plan.stack, plan.framework, plan.port, plan.command) == (stack, framework, port, command)
    for key, value in extra.items():
        assert getattr(plan, key) == value, key
    assert plan.reason


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_generated_dockerfile_uses_the_configured_base_images_and_runs_the_plan(sample, tmp_path):
    files = SAMPLES[sample][0]
    plan = detect_stack(make_repo(tmp_path, files))
    images = {key: f"localhost/test/{key}:1" for key in DEFAULT_BASE_IMAGES}
    dockerfile = generate_dockerfile(plan, images)
    from_lines = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert from_lines and all(image.startswith("localhost/test/") for image in from_lines)
    assert f"EXPOSE {plan.port}" in dockerfile
    assert f"CMD {json.dumps(plan.command)}" in dockerfile
    assert dockerfile.startswith("# Generated by Basepod")
    if plan.install:
        assert f"RUN {json.dumps(plan.install)}" in dockerfile
    if plan.build:
        assert f"RUN {json.dumps(plan.build)}" in dockerfile


def test_go_builds_in_one_image_and_runs_in_the_runtime_image(tmp_path):
    plan = detect_stack(make_repo(tmp_path, SAMPLES["go-cmd-layout"][0]))
    dockerfile = generate_dockerfile(plan, {"go": "gob:1", "go-runtime": "run:1"})
    assert "FROM gob:1 AS build" in dockerfile and "FROM run:1" in dockerfile
    assert "go build -o /out/server ./cmd/api" in dockerfile
    assert "COPY --from=build /out/server /app/server" in dockerfile


def test_node_static_builds_are_served_by_the_static_image(tmp_path):
    plan = detect_stack(make_repo(tmp_path, SAMPLES["node-vite-static-build"][0]))
    dockerfile = generate_dockerfile(plan, {"node": "n:1", "static": "s:1"})
    assert "FROM n:1 AS build" in dockerfile and "FROM s:1" in dockerfile
    assert "COPY --from=build /app/dist/ /www/" in dockerfile


def test_yarn_and_pnpm_enable_corepack_and_composer_comes_from_its_image(tmp_path):
    yarn = detect_stack(make_repo(tmp_path / "y", SAMPLES["node-express-yarn"][0]))
    assert "RUN corepack enable" in generate_dockerfile(yarn)
    php = detect_stack(make_repo(tmp_path / "p", SAMPLES["php-composer-public"][0]))
    assert "COPY --from=comp:2 /usr/bin/composer" in generate_dockerfile(php, {"composer": "comp:2"})


def test_unset_base_images_fall_back_to_the_defaults(tmp_path):
    plan = detect_stack(make_repo(tmp_path, SAMPLES["static-root"][0]))
    assert f"FROM {DEFAULT_BASE_IMAGES['static']}" in generate_dockerfile(plan, {})


def test_a_basepod_command_can_replace_the_detected_one(tmp_path):
    plan = detect_stack(make_repo(tmp_path, SAMPLES["python-plain-script"][0]))
    custom = dataclasses.replace(plan, command=["python", "-m", "worker"])
    assert 'CMD ["python", "-m", "worker"]' in generate_dockerfile(custom)
    with pytest.raises(StackNotDetected, match="set command in .basepod"):
        generate_dockerfile(dataclasses.replace(plan, command=None))


@pytest.mark.parametrize("files, fragment", [
    ({}, "looked for go.mod"),
    ({"README.md": "hi", "src/lib.rs": ""}, "package.json (Node)"),
    ({"package.json": "{not json"}, "package.json is not valid JSON"),
    ({"package.json": "[]"}, "must contain a JSON object"),
    ({"package.json": PKG({"name": "lib"})}, "no way to start the app"),
    ({"requirements.txt": "requests\n"}, "no Django manage.py, Flask or FastAPI app"),
    ({"requirements.txt": "flask\n", "views.py": "def index(): pass\n"}, "no module creates the app"),
    ({"requirements.txt": "django\n", "manage.py": ""}, "no <project>/wsgi.py"),
    ({"go.mod": "module x\n", "lib.go": "package lib\n"}, "no `package main`"),
    ({"Gemfile": "gem 'nokogiri'\n"}, "no Rails app, config.ru or app.rb"),
    ({"composer.json": "[1]"}, "composer.json is not a valid JSON object"),
])
def test_repos_without_a_recognisable_way_to_run_give_a_clear_error(files, fragment, tmp_path):
    with pytest.raises(StackNotDetected, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        detect_stack(make_repo(tmp_path, files))


def test_the_unknown_stack_error_lists_everything_looked_for(tmp_path):
    with pytest.raises(StackNotDetected) as caught:
        detect_stack(tmp_path)
    for marker in ("go.mod", "Gemfile", "requirements.txt", "pyproject.toml", "Pipfile",
                   "composer.json", "index.php", "package.json", "index.html", "public/", "dist/"):
        assert marker in str(caught.value)


def test_a_python_app_with_a_package_json_for_assets_is_still_python(tmp_path):
    files = {**SAMPLES["flask"][0], "package.json": PKG({"scripts": {"start": "webpack"}})}
    assert detect_stack(make_repo(tmp_path, files)).stack == "python"
