/** Where the live installer's kernel and initrd sit on the medium and in the TFTP tree. */
export const CASPER_KERNEL = '/casper/vmlinuz';
export const CASPER_INITRD = '/casper/initrd';
