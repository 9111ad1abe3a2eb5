"""Password hashes: scrypt, salted, verifiable, and never the password itself."""

from basepod_agent.services.passwords import hash_password, password_problem, verify_password


def test_hash_verifies_the_right_password_only():
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert verify_password("correct horse battery", stored)
    assert not verify_password("wrong horse battery", stored)


def test_same_password_hashes_differently_each_time():
    assert hash_password("abcdefgh1") != hash_password("abcdefgh1")


def test_garbage_hashes_never_verify():
    assert not verify_password("x", "not-a-hash")
    assert not verify_password("x", "bcrypt$1$2$3$4$5")


def test_short_passwords_are_refused():
    assert "at least" in password_problem("short")
    assert password_problem("long enough") is None
