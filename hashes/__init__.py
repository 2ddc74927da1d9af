"""Pure hashing library: safe image decoding, perceptual hashes, signed hash lists and an
exact Hamming-distance index. No network, files, clock or environment inside, except in
:mod:`hashes.sandbox`, the one adapter: it runs the pure hashing in worker processes under
hard time and memory limits."""
