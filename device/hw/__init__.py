"""Real terminal hardware: camera, QR decoders, PN532 NFC reader, LED and buzzer, each over a swappable back end."""
