"""Environment variable models: the whole set (GET/PUT) and single-key changes (PATCH).

``revision`` counts changes to an app's env. A writer that sends the revision it read
gets a 409 when someone else changed the env in between, instead of clobbering it.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator, model_validator

from basepod_agent.protocol import validation as v


class EnvView(BaseModel):
    """Values in clear: only sent to roles allowed to see them (admin)."""

    env: dict[str, str]
    revision: int
    restart_needed: bool = False


class EnvState(BaseModel):
    """What a write returns: keys only, so a deployer never receives values."""

    keys: list[str]
    revision: int
    restart_needed: bool


class EnvReplace(BaseModel):
    env: dict[str, str]
    revision: int | None = Field(None, description="the revision this edit is based on")

    @field_validator("env")
    @classmethod
    def _env(cls, env: dict[str, str]) -> dict[str, str]:
        if problem := v.env_problem(env):
            raise ValueError(problem)
        return env


class EnvPatch(BaseModel):
    set: dict[str, str] = {}
    unset: list[str] = []
    revision: int | None = None

    @field_validator("set")
    @classmethod
    def _set(cls, values: dict[str, str]) -> dict[str, str]:
        if problem := v.env_problem(values):
            raise ValueError(problem)
        return values

    @field_validator("unset")
    @classmethod
    def _unset(cls, keys: list[str]) -> list[str]:
        if len(keys) > v.MAX_ENV_VARS:
            raise ValueError(f"at most {v.MAX_ENV_VARS} keys can be unset at once")
        for key in keys:
            if problem := v.env_key_problem(key):
                raise ValueError(problem)
        return keys

    @model_validator(mode="after")
    def _disjoint(self) -> EnvPatch:
        both = sorted(set(self.set) & set(self.unset))
        if both:
            raise ValueError(f"{', '.join(both)} cannot be both set and unset")
        if not self.set and not self.unset:
            raise ValueError("nothing to change: give keys to set or unset")
        return self
