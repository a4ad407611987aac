import numpy as np

from ari_apps.g711 import pcm16_to_ulaw, ulaw_to_pcm16


def test_known_code_points():
    pcm = np.array([0, 1000, -1000, 32767, -32768, 8000], dtype="<i2").tobytes()
    assert pcm16_to_ulaw(pcm) == bytes([0xFF, 0xCE, 0x4E, 0x80, 0x00, 0xA0])
    assert np.frombuffer(ulaw_to_pcm16(bytes([0xFF, 0x7F, 0x80, 0x00])), "<i2").tolist() == [0, 0, 32124, -32124]


def test_decode_then_encode_is_the_identity_on_every_code():
    codes = bytes(range(256))
    again = pcm16_to_ulaw(ulaw_to_pcm16(codes))
    assert [a for a, b in zip(codes, again) if a != b] == [0x7F]  # negative zero encodes as positive zero
