#!/usr/bin/env python3
"""Prints the SCRAM-SHA-256 verifier PostgreSQL would store for a password (RFC 5802/7677), with a chosen
iteration count and a random salt: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.

PostgreSQL 15 has no scram_iterations setting (16 does), so bench/run.sh computes low-iteration verifiers here
and sets them with ALTER ROLE ... PASSWORD '<verifier>'. Usage: scram_verifier.py ITERATIONS < password
"""
import base64
import hashlib
import hmac
import os
import sys


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def verifier(password: str, iterations: int) -> str:
    salt = os.urandom(16)
    # ASCII passwords are unchanged by SASLprep, so the raw UTF-8 bytes are what PostgreSQL hashes too.
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


if __name__ == "__main__":
    print(verifier(sys.stdin.read().rstrip("\n"), int(sys.argv[1])))
