"""The error the fake Lever answers with: Lever's `{"code", "message"}` body and its status
(docs/LEVER.md). Its own module so the state and the routes both use it without importing each
other."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
