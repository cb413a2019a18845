/* The restorer, linked as a flat position-independent binary, embedded. */
	.section .rodata
	.balign 4096
	.globl restorer_blob
restorer_blob:
	.incbin "criu/pie/restorer.bin"
	.globl restorer_blob_end
restorer_blob_end:
	.section .note.GNU-stack,"",@progbits
