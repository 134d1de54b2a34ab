from cmctl.cli import main

main()
