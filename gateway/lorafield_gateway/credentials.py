"""Secrets kept out of the configuration file: systemd credentials and private files.

A secret option names a file. A bare name (no '/') is a systemd credential: the unit's
``LoadCredential=`` puts it in ``$CREDENTIALS_DIRECTORY``, readable by the service's user
only (systemd.exec(5), "Credentials"). A path is a file the administrator keeps private:
one that every user of the machine may read is refused, since a password or private key
there is no secret any more. Messages name the file and never its content.
"""

import os
import stat

CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"


class CredentialError(ValueError):
    """A secret file that cannot be used: one line naming the file, never its content."""


def resolve(name_or_path):
    """The file behind a secret option: a credential name or a path."""
    if "/" in name_or_path:
        return name_or_path
    directory = os.environ.get(CREDENTIALS_ENV)
    if not directory:
        raise CredentialError(
            f"{name_or_path!r} is a systemd credential name, but ${CREDENTIALS_ENV} is not"
            " set (give the credential with LoadCredential= in the unit, or a path to a file)"
        )
    return os.path.join(directory, name_or_path)


def check_private(path):
    """Refuse a file that every user may read or write (mode o+r/o+w), or no regular file."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise CredentialError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise CredentialError(f"{path} is not a regular file")
    if info.st_mode & (stat.S_IROTH | stat.S_IWOTH):
        mode = stat.S_IMODE(info.st_mode)
        raise CredentialError(
            f"{path} can be read by every user (mode {mode:04o}): chmod 600 {path}"
        )
    return path


def private_file(name_or_path):
    """The path of a secret file (a private key), checked: see `check_private`."""
    return check_private(resolve(name_or_path))


def read_secret(name_or_path):
    """A secret's text from its file: one line, the trailing newline removed."""
    path = private_file(name_or_path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(64 * 1024 + 1)
    except OSError as exc:
        raise CredentialError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialError(f"{path} is not UTF-8 text") from None
    if len(data) > 64 * 1024:
        raise CredentialError(f"{path} is larger than 64 KiB: not a password")
    text = text.removesuffix("\n").removesuffix("\r")
    if not text or "\n" in text:
        raise CredentialError(f"{path} must hold the secret on one line")
    return text
