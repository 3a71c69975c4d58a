from gitimprove.cli import main

main()
