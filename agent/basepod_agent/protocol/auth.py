"""Login and session models."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, Field


class Role(str, Enum):
    ADMIN = "admin"
    DEPLOYER = "deployer"
    VIEWER = "viewer"


class LoginRequest(BaseModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class UserInfo(BaseModel):
    id: int
    email: str
    role: Role


class LoginResponse(BaseModel):
    token: str
    expires_at: datetime
    user: UserInfo


class WhoAmI(BaseModel):
    user: UserInfo
    token_expires_at: datetime
