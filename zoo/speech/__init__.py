"""Speech: keyword spotting (spoken commands) and CTC speech-to-text on the shared trainer."""
