"""Password strength rule (the hashing itself is Argon2id, in services/auth.py)."""

from __future__ import annotations

from registry.core.errors import RuleViolation

MIN_LENGTH = 10
_COMMON = {
    "password",
    "passw0rd",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "11111111",
    "88888888",
    "iloveyou",
    "admin123",
    "abc123456",
    "password1",
    "qwerty123",
    "a123456789",
    "woaini1314",
    "1qaz2wsx",
    "huaihua123",
    "zxcvbnm123",
}


def password_problems(password: str, username: str = "") -> list[str]:
    """Everything wrong with a password, as Chinese / English messages (empty = strong)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少 {MIN_LENGTH} 位 / at least {MIN_LENGTH} characters")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3 and len(password) < 16:
        problems.append(
            "须包含大写字母、小写字母、数字、符号中的至少三类（或至少 16 位） / "
            "use three of upper case, lower case, digits, symbols (or 16+ characters)"
        )
    if password.lower() in _COMMON or len(set(password)) <= 3:
        problems.append("密码过于常见 / the password is too common")
    if username and len(username) >= 3 and username.lower() in password.lower():
        problems.append("密码不能包含用户名 / the password must not contain the username")
    return problems


def check_password(password: str, username: str = "") -> None:
    problems = password_problems(password, username)
    if problems:
        raise RuleViolation(
            "weak_password",
            "密码强度不足：" + "；".join(p.split(" / ")[0] for p in problems),
            "weak password: " + "; ".join(p.split(" / ")[-1] for p in problems),
            "password",
            problems=problems,
        )
