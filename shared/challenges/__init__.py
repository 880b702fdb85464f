"""Trading challenges: figures from the fills ledger, the 🏆 alert line, and their storage."""
