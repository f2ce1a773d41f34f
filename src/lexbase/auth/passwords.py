"""The password policy: length, not the email, not a well-known password."""

from __future__ import annotations

from lexbase.auth.errors import WeakPassword

MAX_PASSWORD_LENGTH = 256
# The most common leaked passwords of 8+ characters; long lists belong to a breach service.
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "iloveyou",
        "11111111",
        "00000000",
        "abcd1234",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome1",
        "admin123",
        "letmein1",
        "trustno1",
        "passw0rd",
        "p@ssw0rd",
        "changeme",
        "lexbase123",
    }
)


def check_password(password: str, *, email: str, min_length: int) -> None:
    problems: list[str] = []
    if len(password) < min_length:
        problems.append(f"must be at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    local_part = email.split("@", 1)[0].lower()
    if lowered == email.lower() or (len(local_part) >= 3 and local_part in lowered):
        problems.append("must not contain your email address")
    if lowered in _COMMON or len(set(password)) < 3:
        problems.append("is too common or too simple")
    if problems:
        raise WeakPassword(
            "Password " + "; ".join(problems),
            details=[{"loc": ["body", "password"], "message": p} for p in problems],
        )
