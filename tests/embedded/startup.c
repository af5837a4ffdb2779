/* startup.c — the least a Cortex-M4 firmware needs on QEMU's mps2-an386: the
 * vector table (initial stack pointer, reset handler, fault handlers) and a
 * reset handler that turns the FPU on, copies .data, zeroes .bss, opens
 * newlib's semihosting streams and calls main. A fault prints a line and
 * leaves QEMU through semihosting, so a broken firmware fails at once instead
 * of hanging until the test's timeout. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern void initialise_monitor_handles(void);
extern int main(void);

void reset_handler(void);
void _init(void);
void _fini(void);

/* newlib's exit runs the .fini_array and then _fini, which gcc's crti.o would
 * provide; -nostartfiles leaves it out and there is nothing to run. */
void _init(void) {}
void _fini(void) {}

/* Semihosting SYS_WRITE0 then SYS_EXIT with ADP_Stopped_RunTimeError. */
static void fault_handler(void) {
    static const char msg[] = "firmware: fault\n";
    __asm volatile("mov r0, #0x04\n\t"
                   "mov r1, %0\n\t"
                   "bkpt 0xab\n\t"
                   "mov r0, #0x18\n\t"
                   "ldr r1, =0x20023\n\t"
                   "bkpt 0xab\n\t"
                   : : "r"(msg) : "r0", "r1", "memory");
    for (;;) {
    }
}

/* Cortex-M4 exceptions 0..15; the board's interrupts are never enabled. */
__attribute__((section(".vectors"), used))
const uintptr_t vectors[16] = {
    (uintptr_t)&__stack_top,
    (uintptr_t)reset_handler,
    (uintptr_t)fault_handler,   /* NMI */
    (uintptr_t)fault_handler,   /* HardFault */
    (uintptr_t)fault_handler,   /* MemManage */
    (uintptr_t)fault_handler,   /* BusFault */
    (uintptr_t)fault_handler,   /* UsageFault (e.g. FPU still off) */
    0, 0, 0, 0,
    (uintptr_t)fault_handler,   /* SVCall */
    (uintptr_t)fault_handler,   /* DebugMonitor */
    0,
    (uintptr_t)fault_handler,   /* PendSV */
    (uintptr_t)fault_handler,   /* SysTick */
};

void reset_handler(void) {
    /* CPACR: full access to CP10 and CP11, the FPU; off at reset, and the
     * first floating-point instruction would fault. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
    memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
    memset(&__bss_start, 0, (size_t)((char *)&__bss_end - (char *)&__bss_start));
    initialise_monitor_handles();
    exit(main());
}
