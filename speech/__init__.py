"""Offline voice-note transcription (faster-whisper); arrives with the voice-notes issue."""
