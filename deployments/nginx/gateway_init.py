"""Prepare the gateway's TLS certificate and the Prefect UI's basic-auth file.

    python deployments/nginx/gateway_init.py OUT_DIR

Writes OUT_DIR/tls.crt, OUT_DIR/tls.key and OUT_DIR/prefect.htpasswd:
- the certificate: OUT_DIR/provided/tls.crt + tls.key when mounted there (real certificates),
  else the pair already in OUT_DIR, else a new self-signed one (RSA 2048, 825 days, for
  GATEWAY_HOSTNAME, default localhost, plus 127.0.0.1) made with ``cryptography``;
- the htpasswd line for PREFECT_UI_USER (default ``operator``) / PREFECT_UI_PASSWORD (required),
  salted SHA-1 (``{SSHA}``, a scheme nginx's auth_basic reads), rewritten at every start so a
  changed password takes effect.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
import shutil
import sys
from pathlib import Path


def ssha(password: str, salt: bytes | None = None) -> str:
    """``{SSHA}base64(sha1(password + salt) + salt)``, as nginx's auth_basic_user_file reads."""
    salt = salt if salt is not None else secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def self_signed(hostname: str) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key (PEM) for ``hostname`` and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(hostname), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def prepare(out: Path, env: dict[str, str]) -> str:
    """Write the three files into ``out``; returns where the certificate came from."""
    out.mkdir(parents=True, exist_ok=True)
    provided = out / "provided"
    crt, key = out / "tls.crt", out / "tls.key"
    if (provided / "tls.crt").is_file() and (provided / "tls.key").is_file():
        shutil.copyfile(provided / "tls.crt", crt)
        shutil.copyfile(provided / "tls.key", key)
        source = "mounted certificate"
    elif crt.is_file() and key.is_file():
        source = "existing certificate"
    else:
        cert_pem, key_pem = self_signed(env.get("GATEWAY_HOSTNAME") or "localhost")
        crt.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        source = "new self-signed certificate"
    key.chmod(0o640)
    password = env.get("PREFECT_UI_PASSWORD", "")
    if not password:
        raise SystemExit("gateway_init: set PREFECT_UI_PASSWORD (basic auth of the Prefect UI)")
    user = env.get("PREFECT_UI_USER") or "operator"
    htpasswd = out / "prefect.htpasswd"
    htpasswd.write_text(f"{user}:{ssha(password)}\n")
    htpasswd.chmod(0o644)  # read by nginx's unprivileged workers; the hash is salted
    return source


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: gateway_init.py OUT_DIR", file=sys.stderr)
        return 2
    source = prepare(Path(argv[1]), dict(os.environ))
    print(f"gateway_init: {source}; htpasswd written", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
