"""Looking at evidence: wellness-first thumbnails, keyframes, playback and audited reveals."""
