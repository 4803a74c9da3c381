import hashlib
import hmac

import pytest

from authgate.crypto.digest import Digester


def test_digest_is_hmac_sha256_with_purpose_separation() -> None:
    key = b"k" * 32
    d = Digester(key)
    expected = hmac.new(key, b"key\0agk_x", hashlib.sha256).hexdigest()
    assert d.digest("agk_x") == expected
    assert d.digest("agk_x") == expected  # the cached state is copied, never mutated
    assert d.digest("agk_x", purpose="basic") != expected
    assert d.digest("a\udcff") != d.digest("a")  # surrogates from latin-1 input are digested


def test_short_keys_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Digester(b"short")
    assert "k" * 32 not in repr(Digester(b"k" * 32))
