"""What every part of the GUI shares: the job layer (jobs), the notice bridge (notices),
the theme, small widgets, the hardware probe and the one-instance lock."""
