"""Accountability across the experience: persona trends with intervals and drop flags, root causes and
long-term fixes, shared stage metrics beside the scores, credit for confirmed fixes, and experience checks
run by staff. Reads issues, feedback and the journey; app.digests and app.web read it."""
