"""Trading signals: the indicators the scanner reads, and (later) its detectors."""
