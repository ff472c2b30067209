import sys

from registry.embedded_postgres import main

main(sys.argv)
