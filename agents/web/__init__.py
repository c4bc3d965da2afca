"""``dialog-gym serve``: the correction session as a web page (a second front end of the one correction
loop; the first is the terminal). Needs the ``web`` extra (Starlette, uvicorn)."""
