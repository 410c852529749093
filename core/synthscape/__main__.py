from synthscape.cli import main

main()
