"""asr: speech recognition - log-mel features, a bidirectional recurrent encoder and CTC (see `task`)."""
