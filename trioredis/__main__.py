"""``python -m trioredis server ...``"""

from .cli import main

main()
