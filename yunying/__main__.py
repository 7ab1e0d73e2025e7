from yunying.cli import app

app()
