"""Pure hashing library: safe image decoding, perceptual hashes, signed hash lists and an
exact Hamming-distance index. No network, files, clock or environment inside."""
