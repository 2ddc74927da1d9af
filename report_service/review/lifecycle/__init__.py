"""Evidence lifecycle: retention rules, crypto-shredding destruction and key rewrapping."""
